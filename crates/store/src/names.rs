//! The one way stored enums are spelled: `as_str`, `Display` and `FromStr` over a fixed set of
//! spellings (`stored_names!`), for every enum a column holds as text.

/// Implements `as_str`, `Display` and `FromStr` over a fixed set of stored spellings.
macro_rules! stored_names {
    ($ty:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// The stored spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(text: &str) -> Result<$ty, String> {
                match text {
                    $($text => Ok($ty::$variant),)+
                    other => Err(format!(concat!("unknown ", $what, " {:?}"), other)),
                }
            }
        }
    };
}
