//! Procedural macros for tachylog.
use proc_macro::TokenStream;

/// Internal: expands one logging call. Use `tachylog::info!` and friends.
#[doc(hidden)]
#[proc_macro]
pub fn __log(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}
