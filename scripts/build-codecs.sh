#!/usr/bin/env bash
# Builds the C libraries framepipe links statically from source, for the wheel's floor: x264 (the
# wheel's) and ffmpeg-aac (FFmpeg's AAC encoder, linked by every build: scripts/setup.sh builds it
# too); opus is a recipe kept for comparison (the wheel's libopus comes from opusic-sys):
#   * the source is the upstream tarball of a Debian source package (its .orig.tar.*), taken from
#     Debian's archive by its pool path, pinned by version and by sha256 (checked before use);
#     `--verify-pins` checks each pin against the Sources index of the Debian suite named beside
#     it (signed by Debian: apt verifies it), fetched with a scratch apt configuration in a temp
#     directory, never the machine's;
#   * the compiler is `zig cc -target x86_64-linux-gnu.2.28 -mcpu=x86_64` (zig from PyPI, pinned
#     in scripts/wheel-tools.sh): C compiled and linked against glibc 2.28's symbols, for the
#     baseline x86-64 ISA (assembly with run-time CPU dispatch comes from nasm), static (.a) only;
#   * each library is installed into target/codecs/NAME-KEY/ (include/, lib/*.a,
#     lib/pkgconfig/*.pc, licenses/, SOURCE), KEY being a hash of the source's sha256, the recipe
#     (the build function below, as bash prints it), the zig version and the target: a second run
#     reuses it; a clean clone builds it. target/codecs/NAME is a link to the newest build of NAME
#     (the last one this script built or found cached): crates/framepipe/build.rs finds ffmpeg-aac
#     through it (.cargo/config.toml).
# Adding a library: one block of pins (NAME_version, NAME_debian, NAME_suite, NAME_pool,
# NAME_sha256) and a build_NAME function that configures and installs into "$prefix" with $CC,
# $AR, $RANLIB, $jobs; then `scripts/build-codecs.sh NAME`.
# Usage: scripts/build-codecs.sh [--verify-pins] NAME...     (NAME: x264, opus, ffmpeg-aac)
# Prints "NAME PREFIX" for each library on stdout (PREFIX absolute); the log goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD

target=x86_64-linux-gnu.2.28  # zig's target: the manylinux_2_28 floor
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$checkout/target/codecs
jobs=${JOBS:-$(nproc)}

# ---- x264: the H.264 encoder (GPL-2.0-or-later). The newest x264 Debian's archive serves:
# trixie's snapshot of upstream git 31e19f9 (2023-10-01), API 164 as Debian 12's (baee400,
# 2022-06), plus 13 upstream commits of which one touches x86-64 8-bit encoding ("Fix memory
# overread in mbtree", 7628a56). sid's 0.165.3223 (2025-09) is listed in sid's Sources index but
# its files are not served by the archive this project reaches.
x264_version=0.164.3108+git31e19f9
x264_debian=2:0.164.3108+git31e19f9-2
x264_suite=trixie
x264_pool=main/x/x264/x264_0.164.3108+git31e19f9.orig.tar.gz
x264_sha256=41606cb8e788a7f8c4514290646d4ba5c7bc68d9e1ccd1a73f446a90546913eb
build_x264() {
  # What framepipe uses: the library (no CLI, hence none of the CLI's input/output libraries),
  # 8-bit 4:2:0 progressive, with the x86 assembly (nasm), POSIX threads; PIC for the extension.
  ./configure --prefix="$prefix" --host=x86_64-linux-gnu --enable-static --enable-pic \
    --disable-cli --bit-depth=8 --chroma-format=420 --disable-interlaced --disable-opencl \
    --disable-avs --disable-swscale --disable-lavf --disable-ffms --disable-gpac --disable-lsmash
  grep -q '^AS=nasm' config.mak || { echo "build-codecs: x264 configured without nasm" >&2; return 1; }
  make -j"$jobs"
  make install-lib-static
  cp COPYING "$prefix/licenses/"
}

# ---- opus: the Opus audio encoder (BSD-3-Clause). Prototype for issue 23: built, not linked.
opus_version=1.5.2
opus_debian=1.5.2-2
opus_suite=trixie
opus_pool=main/o/opus/opus_1.5.2.orig.tar.gz
opus_sha256=65c1d2f78b9f2fb20082c38cbe47c951ad5839345876e46941612ee87f9a7ce1
build_opus() {
  # The float encoder and decoder with SSE/AVX code picked at run time; none of 1.5's optional
  # neural features (DRED, deep PLC, OSCE: off by default), no programs, no documentation.
  ./configure --prefix="$prefix" --host=x86_64-linux-gnu --enable-static --disable-shared --with-pic \
    --disable-doc --disable-extra-programs --disable-dependency-tracking
  make -j"$jobs"
  make install-libLTLIBRARIES install-pkgincludeHEADERS install-pkgconfigDATA
  rm -f "$prefix"/lib/*.la
  cp COPYING "$prefix/licenses/"
}

# ---- ffmpeg-aac: FFmpeg's native AAC encoder, nothing else (LGPL-2.1-or-later): libavcodec with
# the aac encoder only, and libavutil. framepipe's AAC encoder (crates/framepipe/src/encode/aac.rs,
# through csrc/aac_shim.c) links it, in development builds and in the wheel.
ffmpeg_aac_version=7.1.5
ffmpeg_aac_debian=7:7.1.5-0+deb13u1
ffmpeg_aac_suite=trixie
ffmpeg_aac_pool=main/f/ffmpeg/ffmpeg_7.1.5.orig.tar.xz
ffmpeg_aac_sha256=de668509caf9e35e3cd162473441fdb29538c6d96ed080292b3cf9e6fc5d558f
build_ffmpeg_aac() {
  # LGPL build (no --enable-gpl/nonfree); no programs, devices, formats, filters, network or
  # autodetected system libraries; libavcodec with the aac encoder only, and libavutil (no
  # libswresample: the samples reach the encoder as float already, resampled by rubato).
  ./configure --prefix="$prefix" --cc="$CC" --ar="$AR" --ranlib="$RANLIB" --nm="$NM" \
    --target-os=linux --arch=x86_64 --enable-pic --enable-static --disable-shared \
    --disable-programs --disable-doc --disable-network --disable-autodetect --disable-everything \
    --disable-avdevice --disable-avformat --disable-avfilter --disable-swscale --disable-swresample \
    --enable-encoder=aac
  # configure finds sysctl() by linking (glibc 2.28 still exports it) but zig's glibc headers,
  # the newest glibc's, have no <sys/sysctl.h> (removed in 2.32); on Linux libavutil does not
  # need it (it counts CPUs with sched_getaffinity).
  sed -i 's/^#define HAVE_SYSCTL 1$/#define HAVE_SYSCTL 0/' config.h
  make -j"$jobs"
  make install  # the libraries, headers and .pc files (no programs or documentation configured)
  cp COPYING.LGPLv2.1 "$prefix/licenses/"
}

# ---- the driver ---------------------------------------------------------------------------------
verify=0
if [ "${1:-}" = --verify-pins ]; then verify=1; shift; fi
[ $# -gt 0 ] || { echo "usage: $0 [--verify-pins] NAME... (x264, opus, ffmpeg-aac)" >&2; exit 2; }

pin() { # pin NAME FIELD: the value of NAME_FIELD
  local v="${1//-/_}_$2"
  [ -n "${!v:-}" ] || { echo "build-codecs: no library '$1' (no $v)" >&2; exit 2; }
  echo "${!v}"
}

if [ "$verify" = 1 ]; then
  # The pins against Debian's signed Sources indexes: an apt configuration of our own in a temp
  # directory (its sources.list, lists and cache), the machine's keyring to check the signatures.
  apt=$(mktemp -d /tmp/framepipe-apt.XXXXXX)
  chmod 755 "$apt"  # apt fetches as the _apt user
  trap 'rm -rf "$apt"' EXIT
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
  for name in "$@"; do
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $(pin "$name" suite) main"
  done | sort -u >"$apt/sources.list"
  opts=(-o Dir::Etc::sourcelist="$apt/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$apt/lists"
    -o Dir::Cache="$apt/cache" -o Dir::State::status=/dev/null -o Debug::NoLocking=1)
  apt-get "${opts[@]}" update >&2
  for name in "$@"; do
    src=$(basename "$(pin "$name" pool)")
    pkg=${src%%_*}
    got=$(apt-cache "${opts[@]}" showsrc "$pkg" | awk -v v="$(pin "$name" debian)" -v f="$src" '
      /^Version:/ {ok = ($2 == v)} /^Checksums-Sha256:/ {c = 1; next} /^[^ ]/ {c = 0}
      ok && c && $3 == f {print $1}' | sort -u)
    if [ "$got" != "$(pin "$name" sha256)" ]; then
      echo "build-codecs: $name: $(pin "$name" suite) has no $src of $(pin "$name" debian) with the pinned sha256 (index: '${got:-none}')" >&2
      exit 1
    fi
    echo "build-codecs: $name: the pin is $(pin "$name" suite)'s signed index's ($pkg $(pin "$name" debian), $src)" >&2
  done
  exit 0
fi

tools=$(scripts/wheel-tools.sh)
zig=$("$tools/bin/python" -c 'import os, ziglang; print(os.path.abspath(os.path.join(os.path.dirname(ziglang.__file__), "zig")))')
zig_version=$("$zig" version)
command -v nasm >/dev/null || { echo "build-codecs: nasm is missing (Debian: apt install nasm)" >&2; exit 1; }

# The toolchain, as commands configure scripts accept (one word each).
bin=$root/bin-$zig_version
mkdir -p "$bin"
wrap() { # wrap NAME ARGS...: a script running zig with ARGS and its own arguments
  printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$zig" "$2" >"$bin/$1.tmp"
  chmod +x "$bin/$1.tmp"
  mv "$bin/$1.tmp" "$bin/$1"
}
# -fno-sanitize=all: zig cc adds UBSan traps where no -O is given (some configure checks).
wrap cc "cc -target $target -mcpu=x86_64 -fno-sanitize=all"
wrap ar ar
wrap ranlib ranlib
wrap nm "nm"
export CC=$bin/cc AR=$bin/ar RANLIB=$bin/ranlib NM=$bin/nm
unset CFLAGS CPPFLAGS LDFLAGS PKG_CONFIG_PATH
export SOURCE_DATE_EPOCH=0

build() {
  local name=$1 fn=build_${1//-/_} file url sha key prefix work dl start
  declare -F "$fn" >/dev/null || { echo "build-codecs: no recipe $fn" >&2; exit 2; }
  sha=$(pin "$name" sha256)
  key=$(printf '%s\n' "$sha" "$target" "$zig_version" "$(declare -f "$fn")" | sha256sum | cut -c1-16)
  prefix=$root/$name-$key
  if [ -f "$prefix/SOURCE" ]; then
    echo "build-codecs: $name: cached in ${prefix#"$checkout"/}" >&2
    current "$name" "$prefix"
    echo "$name $prefix"
    return
  fi
  start=$(date +%s)
  file=$(basename "$(pin "$name" pool)")
  url=$mirror/pool/$(pin "$name" pool)
  dl=$root/downloads/$file
  mkdir -p "$root/downloads"
  if [ ! -f "$dl" ] || ! echo "$sha  $dl" | sha256sum -c --status; then
    echo "build-codecs: $name: downloading $url" >&2
    curl -fsSL --retry 3 -o "$dl.part" "$url"
    mv "$dl.part" "$dl"
  fi
  if ! echo "$sha  $dl" | sha256sum -c --status; then
    echo "build-codecs: $name: $file does not have the pinned sha256 $sha (got $(sha256sum "$dl" | cut -d' ' -f1))" >&2
    rm -f "$dl"
    exit 1
  fi
  work=$root/build/$name-$key
  rm -rf "$work" "$prefix"
  mkdir -p "$work" "$prefix/licenses"
  tar -xf "$dl" -C "$work" --strip-components=1
  echo "build-codecs: $name $(pin "$name" version): building with zig $zig_version for $target (log: ${work#"$checkout"/}/build.log)" >&2
  # The recipe runs in a bash of its own, with -e in force (in a function whose status `if`
  # tests, bash ignores -e, and a failing make would go unnoticed).
  if ! (cd "$work" && prefix=$prefix jobs=$jobs bash -euo pipefail -c "$(declare -f "$fn"); $fn") \
    >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    echo "build-codecs: $name: the build failed (log: $work/build.log)" >&2
    rm -rf "$prefix"
    exit 1
  fi
  if ! ls "$prefix"/lib/*.a >/dev/null 2>&1 || ! ls "$prefix"/lib/pkgconfig/*.pc >/dev/null 2>&1 ||
    ! ls "$prefix"/include/* >/dev/null 2>&1 || ! ls "$prefix"/licenses/* >/dev/null 2>&1; then
    echo "build-codecs: $name: the build installed no static library, .pc file, header or licence (log: $work/build.log)" >&2
    exit 1
  fi
  {
    echo "name=$name"
    echo "version=$(pin "$name" version)"
    echo "debian_source_package=$(pin "$name" debian) ($(pin "$name" suite))"
    echo "url=$url"
    echo "sha256=$sha"
    echo "compiler=zig $zig_version cc -target $target"
    echo "key=$key"
  } >"$prefix/SOURCE.tmp"
  mv "$prefix/SOURCE.tmp" "$prefix/SOURCE"  # last: marks the build complete
  rm -rf "$work"
  echo "build-codecs: $name: built in $(($(date +%s) - start)) s: ${prefix#"$checkout"/}" >&2
  current "$name" "$prefix"
  echo "$name $prefix"
}

current() { # current NAME PREFIX: target/codecs/NAME -> NAME-KEY (replaced atomically)
  ln -sfn "$(basename "$2")" "$root/$1.tmp"
  mv -T "$root/$1.tmp" "$root/$1"
}

for name in "$@"; do build "$name"; done
