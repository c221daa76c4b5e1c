//! Messages by code: what the server tells a person, as a stable code and its
//! parameters, so the console can say it in the user's language. The English text stays
//! with the producer (API users, the CLI); the console renders `code` + `params` from its
//! dictionaries and falls back to the English only for a code it does not know.
//!
//! A family of codes is one enum declared with [`message_codes!`]: each variant a code
//! with its parameters typed. The macro gives the variant's code, its parameters as
//! text, and the family's list of codes with their parameter names, which the server
//! publishes (`docs/message-codes.json`) for the console's dictionary test.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A message as the console receives it: a stable code and its parameters as text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coded {
    /// Stable code, e.g. `source.binlog_format.wrong`.
    pub code: String,
    /// The values the text names (a table, a column, a host, a limit), by name.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// A family of message codes (an enum declared with [`message_codes!`]).
pub trait MessageCode {
    /// Every code of the family with the names of its parameters.
    const CODES: &'static [(&'static str, &'static [&'static str])];
    /// This message's code.
    fn code(&self) -> &'static str;
    /// This message's parameters, rendered as text.
    fn params(&self) -> BTreeMap<String, String>;
    /// The code and parameters together, as sent.
    fn coded(&self) -> Coded {
        Coded {
            code: self.code().to_string(),
            params: self.params(),
        }
    }
}

/// Declares an enum of message codes, each variant with its code and typed parameters
/// (any `Display` type), and implements [`MessageCode`] for it:
///
/// ```
/// obsync_model::message_codes! {
///     /// What the example says.
///     pub enum Example {
///         /// A table is missing.
///         TableMissing = "example.table_missing" { table: String },
///         AllGood = "example.all_good" {},
///     }
/// }
/// use obsync_model::MessageCode;
/// let m = Example::TableMissing { table: "shop.orders".into() };
/// assert_eq!(m.code(), "example.table_missing");
/// assert_eq!(m.params()["table"], "shop.orders");
/// assert_eq!(Example::CODES[1], ("example.all_good", &[][..]));
/// ```
#[macro_export]
macro_rules! message_codes {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $code:literal { $($param:ident : $ty:ty),* $(,)? }
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        $vis enum $name {
            $(
                $(#[$vmeta])*
                $variant { $($param: $ty),* },
            )*
        }

        impl $crate::MessageCode for $name {
            const CODES: &'static [(&'static str, &'static [&'static str])] =
                &[$(($code, &[$(stringify!($param)),*])),*];

            fn code(&self) -> &'static str {
                match self {
                    $($name::$variant { .. } => $code,)*
                }
            }

            #[allow(unused_mut, unused_variables)]
            fn params(&self) -> ::std::collections::BTreeMap<String, String> {
                let mut params = ::std::collections::BTreeMap::new();
                match self {
                    $($name::$variant { $($param),* } => {
                        $(params.insert(stringify!($param).to_string(), $param.to_string());)*
                    })*
                }
                params
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    message_codes! {
        enum Sample {
            One = "sample.one" { table: String, limit: u32 },
            Two = "sample.two" {},
        }
    }

    #[test]
    fn a_variant_gives_its_code_and_params_and_the_family_lists_them() {
        let m = Sample::One {
            table: "a.b".into(),
            limit: 3,
        };
        assert_eq!(m.code(), "sample.one");
        let coded = m.coded();
        assert_eq!(coded.params["table"], "a.b");
        assert_eq!(coded.params["limit"], "3");
        assert!(Sample::Two {}.params().is_empty());
        assert_eq!(
            Sample::CODES,
            &[
                ("sample.one", &["table", "limit"][..]),
                ("sample.two", &[][..])
            ]
        );
    }
}
