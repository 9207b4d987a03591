//! `skipjack._llm`: the binding of the stream core. Conversion only; behaviour lives in
//! `skipjack-llm` and the typed Python package that wraps this module.

mod convert;
mod events;
mod stream;
mod wake;

use pyo3::prelude::*;

#[pymodule]
fn _llm(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(stream::start_stream, m)?)?;
    m.add_class::<stream::NativeStream>()?;
    events::register(m)?;
    m.add("CORE_VERSION", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
