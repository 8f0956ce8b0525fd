//! A writer's options as they cross from Python: a dict of keyword values (None = not given),
//! each turned into the engine's [`Value`] by its Python type alone and checked by the engine's
//! option table ([`framepipe::options::build`]), as the CLI's flags are: the same names,
//! aliases, ranges and messages. The table itself is `option_table()`, for Python's keyword
//! checks and the `EncodeOptions` TypedDict test.

use framepipe::options::{build, spec, Built, Kind, Value, OPTIONS};
use framepipe::{Error, Rational};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};
use std::path::PathBuf;

/// A Python value as the engine's [`Value`], by its type (and, for colours and tags, by the
/// option's kind): no string is parsed as a number.
fn value_of(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    let shown = || obj.repr().map(|r| Value::Other(r.to_string()));
    if obj.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(obj.extract()?));
    }
    if obj.is_instance_of::<PyString>() {
        return Ok(Value::Text(obj.extract()?));
    }
    match spec(name).map(|s| s.kind) {
        Some(Kind::Color) => {
            return match obj.extract::<Vec<Bound<'_, PyAny>>>() {
                Ok(items) if items.len() == 3 => {
                    let mut rgb = [0u8; 3];
                    for (c, item) in rgb.iter_mut().zip(&items) {
                        // Integers (numpy's too), not floats or bools.
                        match item.extract::<u8>() {
                            Ok(v) if !item.is_instance_of::<PyBool>() && !item.is_instance_of::<PyFloat>() => *c = v,
                            _ => return shown(),
                        }
                    }
                    Ok(Value::Color(rgb))
                }
                _ => shown(),
            };
        }
        Some(Kind::Tags) => {
            return match obj.extract::<Vec<(String, String)>>() {
                Ok(pairs) => Ok(Value::Tags(pairs)),
                Err(_) => shown(),
            };
        }
        _ => {}
    }
    if obj.is_instance_of::<PyInt>() || (!obj.is_instance_of::<PyFloat>() && obj.hasattr("__index__")?) {
        return match obj.extract::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => shown(), // beyond 64 bits
        };
    }
    if obj.is_instance_of::<PyFloat>() || obj.hasattr("__float__")? {
        if let Ok(x) = obj.extract::<f64>() {
            return Ok(Value::Float(x));
        }
    }
    shown()
}

/// The (name, value) pairs of an options dict, None values left out.
fn given(options: &Bound<'_, PyDict>) -> PyResult<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for (k, v) in options.iter() {
        let name: String = k.extract()?;
        // None is "not given", except for an on/off option, which is True or False.
        let value = match (v.is_none(), spec(&name).map(|s| s.kind)) {
            (true, Some(Kind::Bool)) => Value::Other("None".into()),
            (true, _) => continue,
            (false, _) => value_of(&name, &v)?,
        };
        out.push((name, value));
    }
    Ok(out)
}

/// Check options the way a writer does: the engine's table, the format from `path` (None = in
/// memory) unless `format` is given, and the frame rate.
pub(crate) fn checked(
    path: Option<&std::path::Path>,
    fps_num: u32,
    fps_den: u32,
    options: &Bound<'_, PyDict>,
) -> PyResult<Result<Built, Error>> {
    let pairs = given(options)?;
    let refs: Vec<(&str, Value)> = pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    Ok(Rational::new(fps_num, fps_den).and_then(|fps| build(path, fps, &refs)))
}

/// Check a writer's options without opening anything; returns `{"format": "mp4" | "gif",
/// "pix_fmt": name or None}`.
#[pyfunction]
#[pyo3(signature = (path, fps_num, fps_den, options))]
pub(crate) fn check_options<'py>(
    py: Python<'py>,
    path: Option<PathBuf>,
    fps_num: u32,
    fps_den: u32,
    options: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let built = checked(path.as_deref(), fps_num, fps_den, options)?.map_err(|e| crate::to_py(py, e))?;
    let d = PyDict::new(py);
    d.set_item("format", built.options.format.map(|f| f.as_str()))?;
    d.set_item("pix_fmt", built.pix_fmt.map(|p| p.as_str()))?;
    Ok(d)
}

/// The engine's option table: a list of dicts (name, type, min, max, choices with their
/// aliases, default, formats, cli, doc), in the table's order.
#[pyfunction]
pub(crate) fn option_table(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let rows = PyList::empty(py);
    for s in OPTIONS {
        let d = PyDict::new(py);
        d.set_item("name", s.name)?;
        d.set_item("type", s.kind.type_name())?;
        let (min, max): (Option<f64>, Option<f64>) = match s.kind {
            Kind::Int { min, max } => (Some(min as f64), Some(max as f64)),
            Kind::Float { min, max, .. } => (Some(min), Some(max)),
            _ => (None, None),
        };
        d.set_item("min", min)?;
        d.set_item("max", max)?;
        d.set_item("min_exclusive", matches!(s.kind, Kind::Float { min_exclusive: true, .. }))?;
        let choices = PyDict::new(py);
        if let Kind::Choice(c) = s.kind {
            for c in c {
                choices.set_item(c.name, c.aliases.to_vec())?;
            }
        }
        d.set_item("choices", choices)?;
        d.set_item("allowed", s.kind.describe())?;
        d.set_item("default", s.default)?;
        d.set_item("formats", s.applies.as_str().split(", ").collect::<Vec<_>>())?;
        d.set_item("cli", s.cli)?;
        d.set_item("doc", s.doc)?;
        rows.append(d)?;
    }
    Ok(rows)
}
