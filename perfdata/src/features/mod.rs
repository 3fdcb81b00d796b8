//! Feature sections: written from what this machine says ([`machine`]) as `perf record` writes them,
//! and read back as the text `perf report --header-only -I` shows ([`text`]).

pub mod machine;
pub mod text;

pub use machine::{group_desc, put_string, EventDesc, Facts};
pub use text::feature_text;
