//! H.264 knowledge the containers need: the parts of a sequence parameter set (SPS) that an
//! MP4 must agree with (chroma format, bit depths, reordering), and the AVCC packet framing
//! (NAL units with 4-byte length prefixes), and the names of profiles and levels. Used by the MP4 writer (checks and the avcC box)
//! and by concat (decode delay).

/// chroma_format_idc, bit_depth_luma_minus8, bit_depth_chroma_minus8 of a High-family SPS
/// (NAL header included). `None` if the SPS is too short or not a High-family profile.
pub fn sps_format(sps: &[u8]) -> Option<(u8, u8, u8)> {
    let rbsp = sps_rbsp(sps)?;
    let profile = *rbsp.first()?;
    if !high_profile(profile) {
        return None;
    }
    let mut r = BitReader { data: rbsp.get(3..)?, pos: 0 };
    r.ue()?; // seq_parameter_set_id
    let chroma = r.ue()?;
    if chroma == 3 {
        r.bit()?; // separate_colour_plane_flag
    }
    let luma8 = r.ue()?;
    let chroma8 = r.ue()?;
    if chroma > 3 || luma8 > 6 || chroma8 > 6 {
        return None;
    }
    Some((chroma as u8, luma8 as u8, chroma8 as u8))
}

/// An SPS NAL unit's payload without its header byte and emulation prevention bytes
/// (00 00 03 -> 00 00).
fn sps_rbsp(sps: &[u8]) -> Option<Vec<u8>> {
    let mut rbsp = Vec::with_capacity(sps.len());
    let mut zeros = 0;
    for &byte in sps.get(1..)? {
        if zeros >= 2 && byte == 3 {
            zeros = 0;
            continue;
        }
        zeros = if byte == 0 { zeros + 1 } else { 0 };
        rbsp.push(byte);
    }
    Some(rbsp)
}

/// Profiles whose SPS carries chroma format, bit depths and scaling matrices.
fn high_profile(profile: u8) -> bool {
    matches!(profile, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135 | 144)
}

/// `max_num_reorder_frames` of an SPS (H.264 E.1.1, VUI bitstream restriction): at most how
/// many frames precede any frame in decode order and follow it in presentation order. `None`
/// if the SPS does not say (no VUI or no bitstream restriction) or cannot be parsed.
pub fn sps_max_num_reorder_frames(sps: &[u8]) -> Option<u32> {
    let rbsp = sps_rbsp(sps)?;
    let profile = *rbsp.first()?;
    let mut r = BitReader { data: rbsp.get(3..)?, pos: 0 };
    r.ue()?; // seq_parameter_set_id
    if high_profile(profile) {
        let chroma = r.ue()?;
        if chroma == 3 {
            r.bit()?; // separate_colour_plane_flag
        }
        r.ue()?; // bit_depth_luma_minus8
        r.ue()?; // bit_depth_chroma_minus8
        r.bit()?; // qpprime_y_zero_transform_bypass_flag
        if r.bit()? == 1 {
            // seq_scaling_matrix_present_flag
            for i in 0..if chroma == 3 { 12 } else { 8 } {
                if r.bit()? == 1 {
                    r.skip_scaling_list(if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        // pic_order_cnt_type
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bit()?; // delta_pic_order_always_zero_flag
            r.se()?; // offset_for_non_ref_pic
            r.se()?; // offset_for_top_to_bottom_field
            let n = r.ue()?;
            if n > 255 {
                return None;
            }
            for _ in 0..n {
                r.se()?;
            }
        }
        2 => {}
        _ => return None,
    }
    r.ue()?; // max_num_ref_frames
    r.bit()?; // gaps_in_frame_num_value_allowed_flag
    r.ue()?; // pic_width_in_mbs_minus1
    r.ue()?; // pic_height_in_map_units_minus1
    if r.bit()? == 0 {
        r.bit()?; // frame_mbs_only_flag 0: mb_adaptive_frame_field_flag
    }
    r.bit()?; // direct_8x8_inference_flag
    if r.bit()? == 1 {
        for _ in 0..4 {
            r.ue()?; // frame_crop_*_offset
        }
    }
    if r.bit()? == 0 {
        return None; // no VUI
    }
    if r.bit()? == 1 && r.bits(8)? == 255 {
        r.bits(32)?; // aspect_ratio_idc Extended_SAR: sar_width, sar_height
    }
    if r.bit()? == 1 {
        r.bit()?; // overscan_appropriate_flag
    }
    if r.bit()? == 1 {
        r.bits(4)?; // video_format, video_full_range_flag
        if r.bit()? == 1 {
            r.bits(24)?; // colour_primaries, transfer_characteristics, matrix_coefficients
        }
    }
    if r.bit()? == 1 {
        r.ue()?; // chroma_sample_loc_type_top_field
        r.ue()?; // chroma_sample_loc_type_bottom_field
    }
    if r.bit()? == 1 {
        r.bits(32)?; // num_units_in_tick
        r.bits(32)?; // time_scale
        r.bit()?; // fixed_frame_rate_flag
    }
    let nal_hrd = r.bit()? == 1;
    if nal_hrd {
        r.skip_hrd()?;
    }
    let vcl_hrd = r.bit()? == 1;
    if vcl_hrd {
        r.skip_hrd()?;
    }
    if nal_hrd || vcl_hrd {
        r.bit()?; // low_delay_hrd_flag
    }
    r.bit()?; // pic_struct_present_flag
    if r.bit()? == 0 {
        return None; // no bitstream_restriction
    }
    r.bit()?; // motion_vectors_over_pic_boundaries_flag
    for _ in 0..4 {
        r.ue()?; // max_bytes_per_pic_denom, max_bits_per_mb_denom, log2_max_mv_length_*
    }
    let reorder = r.ue()?;
    let dpb = r.ue()?; // max_dec_frame_buffering
    (reorder <= dpb && dpb <= 16).then_some(reorder)
}

struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(bit))
    }
    /// Unsigned Exp-Golomb.
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let mut v = 0u64;
        for _ in 0..zeros {
            v = (v << 1) | u64::from(self.bit()?);
        }
        u32::try_from((1u64 << zeros) - 1 + v).ok()
    }
    /// Signed Exp-Golomb.
    fn se(&mut self) -> Option<i64> {
        let k = i64::from(self.ue()?);
        Some(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
    /// `n <= 32` bits, most significant first.
    fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.bit()?);
        }
        u32::try_from(v).ok()
    }
    /// scaling_list() of `size` coefficients (H.264 7.3.2.1.1.1).
    fn skip_scaling_list(&mut self, size: usize) -> Option<()> {
        let (mut last, mut next) = (8i64, 8i64);
        for _ in 0..size {
            if next != 0 {
                next = (last + self.se()?).rem_euclid(256);
            }
            if next != 0 {
                last = next;
            }
        }
        Some(())
    }
    /// hrd_parameters() (H.264 E.1.2).
    fn skip_hrd(&mut self) -> Option<()> {
        let cpb_cnt = self.ue()?;
        if cpb_cnt > 31 {
            return None;
        }
        self.bits(8)?; // bit_rate_scale, cpb_size_scale
        for _ in 0..=cpb_cnt {
            self.ue()?; // bit_rate_value_minus1
            self.ue()?; // cpb_size_value_minus1
            self.bit()?; // cbr_flag
        }
        self.bits(20)?; // four 5-bit delays/lengths
        Some(())
    }
}

/// A packet must be NAL units with 4-byte big-endian length prefixes that exactly fill it.
pub fn check_avcc(data: &[u8]) -> std::result::Result<(), String> {
    let mut i = 0usize;
    while i < data.len() {
        let Some(len) = data.get(i..i + 4) else {
            return Err("packet is not in 4-byte length-prefixed (AVCC) form: truncated length".into());
        };
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if len == 0 || len > data.len() - i - 4 {
            return Err(format!(
                "packet is not in 4-byte length-prefixed (AVCC) form: NAL length {len} at byte {i} of {}",
                data.len()
            ));
        }
        i += 4 + len;
    }
    Ok(())
}

/// An H.264 profile's name as ffprobe prints it, from profile_idc and the constraint flags.
pub fn profile_name(profile_idc: u8, constraints: u8) -> String {
    let set1 = constraints & 0x40 != 0;
    let set3 = constraints & 0x10 != 0;
    match profile_idc {
        66 if set1 => "Constrained Baseline".into(),
        66 => "Baseline".into(),
        77 => "Main".into(),
        88 => "Extended".into(),
        100 => "High".into(),
        110 if set3 => "High 10 Intra".into(),
        110 => "High 10".into(),
        122 if set3 => "High 4:2:2 Intra".into(),
        122 => "High 4:2:2".into(),
        244 if set3 => "High 4:4:4 Intra".into(),
        244 => "High 4:4:4 Predictive".into(),
        44 => "CAVLC 4:4:4 Intra".into(),
        other => format!("profile {other}"),
    }
}

/// An H.264 level as "4.0", "3.1", or "1b".
pub fn level_name(level_idc: u8, profile_idc: u8, constraints: u8) -> String {
    if level_idc == 9 || (level_idc == 11 && constraints & 0x10 != 0 && matches!(profile_idc, 66 | 77 | 88)) {
        return "1b".into();
    }
    format!("{}.{}", level_idc / 10, level_idc % 10)
}
