//! Value types shared by both config readers.
//!
//! Each type parses from the word an operator writes in keepalived.conf (`FromStr`) and
//! from its TOML form (`Deserialize`), with one implementation of the range checks, so a
//! value is validated the same way whichever reader saw it. Errors are plain messages
//! saying what was expected; the readers attach file, line and column.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A duration with microsecond resolution, written in keepalived.conf as decimal seconds
/// (`1`, `0.05`) and in TOML as seconds or a string with a unit (`"150ms"`, `"2s"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Secs(u64);

impl Secs {
    pub const ZERO: Secs = Secs(0);

    pub const fn from_secs(s: u64) -> Self {
        Secs(s * 1_000_000)
    }
    pub const fn from_millis(ms: u64) -> Self {
        Secs(ms * 1_000)
    }
    pub const fn from_micros(us: u64) -> Self {
        Secs(us)
    }
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    pub fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_micros(self.0)
    }
    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }

    /// Parse keepalived's decimal seconds (`"3"`, `"0.25"`, at most 6 decimals).
    pub fn parse_decimal(s: &str) -> Result<Secs, String> {
        let err = || format!("expected a duration in seconds (like 1 or 0.5), found '{s}'");
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(err());
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        if frac.len() > 6 {
            return Err(format!(
                "duration '{s}' has more than 6 decimals (microsecond resolution)"
            ));
        }
        let whole: u64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| err())?
        };
        let mut micros_frac: u64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            micros_frac += u64::from(b - b'0') * 10u64.pow(5 - i as u32);
        }
        whole
            .checked_mul(1_000_000)
            .and_then(|w| w.checked_add(micros_frac))
            .map(Secs)
            .ok_or_else(|| format!("duration '{s}' is too large"))
    }

    /// Parse the TOML string form: a number with an optional unit us, ms, s, m, h.
    pub fn parse_with_unit(s: &str) -> Result<Secs, String> {
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let base = Secs::parse_decimal(num).map_err(|_| {
            format!("expected a duration like \"1s\", \"150ms\" or \"2m\", found '{s}'")
        })?;
        let mul = match unit.trim() {
            "" | "s" => return Ok(base),
            "us" => {
                return if base.0 % 1_000_000 == 0 {
                    Ok(Secs(base.0 / 1_000_000))
                } else {
                    Err(format!(
                        "'{s}': fractions of a microsecond are not supported"
                    ))
                }
            }
            "ms" => {
                return if base.0 % 1_000 == 0 {
                    Ok(Secs(base.0 / 1_000))
                } else {
                    Err(format!(
                        "'{s}': fractions of a microsecond are not supported"
                    ))
                }
            }
            "m" | "min" => 60,
            "h" => 3600,
            other => {
                return Err(format!(
                    "unknown duration unit '{other}' in '{s}' (expected us, ms, s, m or h)"
                ))
            }
        };
        base.0
            .checked_mul(mul)
            .map(Secs)
            .ok_or_else(|| format!("duration '{s}' is too large"))
    }
}

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us % 1_000_000 == 0 {
            write!(f, "{}s", us / 1_000_000)
        } else if us % 1_000 == 0 {
            write!(f, "{}ms", us / 1_000)
        } else {
            write!(f, "{us}us")
        }
    }
}

impl Serialize for Secs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Secs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration: seconds as a number, or a string like \"150ms\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Secs, E> {
                u64::try_from(v)
                    .ok()
                    .and_then(|v| v.checked_mul(1_000_000))
                    .map(Secs)
                    .ok_or_else(|| E::custom(format!("duration {v} is out of range")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Secs, E> {
                v.checked_mul(1_000_000)
                    .map(Secs)
                    .ok_or_else(|| E::custom(format!("duration {v} is out of range")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Secs, E> {
                if !(0.0..=1.0e9).contains(&v) {
                    return Err(E::custom(format!("duration {v} is out of range")));
                }
                Ok(Secs((v * 1_000_000.0).round() as u64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Secs, E> {
                Secs::parse_with_unit(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Parse an integer the way keepalived does for most keywords (decimal, with a range).
pub fn parse_int<T>(s: &str, min: T, max: T) -> Result<T, String>
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
{
    match s.parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        Ok(_) => Err(format!("'{s}' is outside the range {min}..={max}")),
        // a well-formed integer too large or small for the type
        Err(_) if s.parse::<i128>().is_ok() => {
            Err(format!("'{s}' is outside the range {min}..={max}"))
        }
        Err(_) => Err(format!("expected an integer in {min}..={max}, found '{s}'")),
    }
}

/// keepalived's boolean words (`true`/`false`, `on`/`off`, `yes`/`no`).
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" => Ok(true),
        "false" | "off" | "no" => Ok(false),
        _ => Err(format!("expected true or false, found '{s}'")),
    }
}

/// A number with a range checked in both readers. `bounded!(Name, u8, 1, 255, "what")`.
macro_rules! bounded {
    ($(#[$m:meta])* $name:ident, $t:ty, $min:expr, $max:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub $t);

        impl $name {
            pub const MIN: $t = $min;
            pub const MAX: $t = $max;
            pub fn get(self) -> $t {
                self.0
            }
        }

        #[allow(unused_comparisons)]
        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $crate::config::types::parse_int::<$t>(s, $min, $max).map($name)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        #[allow(unused_comparisons)]
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = i64::deserialize(d)?;
                let ok = <$t>::try_from(v).ok().filter(|x| *x >= $min && *x <= $max);
                ok.map($name).ok_or_else(|| {
                    de::Error::custom(format!(
                        "{} is outside the range {}..={}",
                        v, $min, $max
                    ))
                })
            }
        }
    };
}

bounded!(
    /// VRRP virtual router id.
    Vrid, u8, 1, 255
);
bounded!(
    /// VRRP priority as configured (255 = address owner).
    Priority, u8, 1, 255
);
bounded!(
    /// Weight of a tracked object or script: negative lowers, positive raises priority.
    TrackWeight, i32, -253, 253
);
bounded!(
    /// FILE_CHECK's weight: the file's value times it is added to a real server's weight
    /// (keepalived allows the IPVS weight limit either way).
    FileCheckWeight, i32, -2_147_483_647, 2_147_483_647
);
bounded!(
    /// IPVS destination weight.
    RsWeight, u32, 0, 65535
);

/// A program to run and its arguments, with the user and group it runs as.
///
/// keepalived.conf: `notify "/usr/bin/script arg" [user [group]]`; TOML: a string (split
/// like a shell does), or a table `{ command = "...", user = "...", group = "..." }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Script {
    pub argv: Vec<String>,
    pub user: Option<String>,
    pub group: Option<String>,
}

impl Script {
    /// Split a command line into words with keepalived's (shell-like) quoting and escapes.
    pub fn from_command(cmd: &str) -> Result<Script, String> {
        let argv = split_words(cmd)?;
        if argv.is_empty() {
            return Err("expected a command, found nothing".into());
        }
        Ok(Script {
            argv,
            user: None,
            group: None,
        })
    }

    /// The command line, quoted so that `from_command` gives the same words back.
    pub fn command_line(&self) -> String {
        self.argv
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Serialize for Script {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if self.user.is_none() && self.group.is_none() {
            return s.serialize_str(&self.command_line());
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("command", &self.command_line())?;
        if let Some(u) = &self.user {
            m.serialize_entry("user", u)?;
        }
        if let Some(g) = &self.group {
            m.serialize_entry("group", g)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Script {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Cmd {
            Line(String),
            Argv(Vec<String>),
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            command: Cmd,
            user: Option<String>,
            group: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Line(String),
            Argv(Vec<String>),
            Table(Table),
        }
        let to_script = |c: Cmd| -> Result<Script, String> {
            match c {
                Cmd::Line(l) => Script::from_command(&l),
                Cmd::Argv(v) if v.is_empty() => Err("expected a command, found nothing".into()),
                Cmd::Argv(v) => Ok(Script {
                    argv: v,
                    user: None,
                    group: None,
                }),
            }
        };
        let form = Form::deserialize(d).map_err(|_| {
            de::Error::custom(
                "expected a command: a string, an array of strings, or { command, user, group }",
            )
        })?;
        match form {
            Form::Line(l) => to_script(Cmd::Line(l)),
            Form::Argv(v) => to_script(Cmd::Argv(v)),
            Form::Table(t) => to_script(t.command).map(|mut s| {
                s.user = t.user;
                s.group = t.group;
                s
            }),
        }
        .map_err(de::Error::custom)
    }
}

/// Split words as keepalived does for script command lines: whitespace separates words,
/// `"..."` and `'...'` group, and backslash escapes (`\n`, `\t`, `\x41`, octal, `\"`...).
pub fn split_words(src: &str) -> Result<Vec<String>, String> {
    split(src, true)
}

/// Split words on blanks outside `"..."` / `'...'`, removing the quotes but keeping every
/// backslash escape as written (keepalived's first pass over a script keyword's line).
pub fn split_words_raw(src: &str) -> Result<Vec<String>, String> {
    split(src, false)
}

fn split(src: &str, escapes: bool) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = src.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            if quote.is_none() && c.is_whitespace() {
                break;
            }
            chars.next();
            match c {
                '\\' if !escapes => {
                    word.push('\\');
                    match chars.next() {
                        Some(e) => word.push(e),
                        None => return Err(format!("escape '\\' at the end of '{src}'")),
                    }
                }
                '\\' => {
                    let Some(e) = chars.next() else {
                        return Err(format!("escape '\\' at the end of '{src}'"));
                    };
                    match e {
                        'x' if chars.peek().is_some_and(|c| c.is_ascii_hexdigit()) => {
                            let mut v = 0u32;
                            for _ in 0..2 {
                                match chars.peek().and_then(|c| c.to_digit(16)) {
                                    Some(d) => {
                                        v = v * 16 + d;
                                        chars.next();
                                    }
                                    None => break,
                                }
                            }
                            word.push(char::from_u32(v).unwrap_or('?'));
                        }
                        'c' if chars.peek().is_some() => {
                            let c = chars.next().unwrap_or('@');
                            word.push(char::from((c as u32 & 0x1f) as u8));
                        }
                        '0'..='7' => {
                            let mut v = e.to_digit(8).unwrap_or(0);
                            for _ in 0..2 {
                                match chars.peek().and_then(|c| c.to_digit(8)) {
                                    Some(d) => {
                                        v = v * 8 + d;
                                        chars.next();
                                    }
                                    None => break,
                                }
                            }
                            word.push(char::from((v & 0xff) as u8));
                        }
                        'a' => word.push('\x07'),
                        'b' => word.push('\x08'),
                        'E' => word.push('\x1b'),
                        'f' => word.push('\x0c'),
                        'n' => word.push('\n'),
                        'r' => word.push('\r'),
                        't' => word.push('\t'),
                        'v' => word.push('\x0b'),
                        other => word.push(other),
                    }
                }
                '"' | '\'' if quote.is_none() => quote = Some(c),
                q if Some(q) == quote => quote = None,
                other => word.push(other),
            }
        }
        if let Some(q) = quote {
            return Err(format!("missing terminating {q} in '{src}'"));
        }
        out.push(word);
    }
    Ok(out)
}

/// Quote a word so that `split_words` returns it unchanged.
pub fn shell_quote(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c));
    if plain {
        return w.to_string();
    }
    let mut s = String::from("'");
    for c in w.chars() {
        match c {
            '\'' => s.push_str("'\\''"),
            '\\' => s.push_str("'\\\\'"),
            c => s.push(c),
        }
    }
    s.push('\'');
    s
}

/// Implement Serialize/Deserialize through Display/FromStr (for types written as one string).
macro_rules! serde_via_str {
    ($t:ty, $what:expr) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)
                    .map_err(|_| serde::de::Error::custom(concat!("expected ", $what)))?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_via_str;

/// Parse a word through a type's serde names (for enums spelled as keepalived spells them).
pub fn parse_enum<T: de::DeserializeOwned>(word: &str) -> Result<T, String> {
    use serde::de::IntoDeserializer;
    let d: de::value::StrDeserializer<'_, de::value::Error> = word.into_deserializer();
    T::deserialize(d).map_err(|e| {
        // serde says "unknown variant `x`, expected one of `a`, `b`"
        let msg = e.to_string();
        msg.replace('`', "'")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_seconds() {
        assert_eq!(Secs::parse_decimal("1").unwrap(), Secs::from_secs(1));
        assert_eq!(Secs::parse_decimal("0.05").unwrap(), Secs::from_millis(50));
        assert_eq!(Secs::parse_decimal(".5").unwrap(), Secs::from_millis(500));
        assert_eq!(Secs::parse_decimal("3.000001").unwrap(), Secs(3_000_001));
        assert!(Secs::parse_decimal("1.0000001").is_err());
        assert!(Secs::parse_decimal("-1").is_err());
        assert!(Secs::parse_decimal("1s").is_err());
        assert!(Secs::parse_decimal("").is_err());
        assert!(Secs::parse_decimal("99999999999999999999").is_err());
    }

    #[test]
    fn units_round_trip() {
        for s in ["1s", "150ms", "2500us", "0s", "3600s"] {
            let v = Secs::parse_with_unit(s).unwrap();
            assert_eq!(v.to_string(), s);
        }
        assert_eq!(Secs::parse_with_unit("2m").unwrap(), Secs::from_secs(120));
        assert_eq!(
            Secs::parse_with_unit("0.5").unwrap(),
            Secs::from_millis(500)
        );
        assert!(Secs::parse_with_unit("5 parsecs").is_err());
        assert!(Secs::parse_with_unit("1.5us").is_err());
    }

    #[test]
    fn bounded_ints() {
        assert_eq!("51".parse::<Vrid>().unwrap(), Vrid(51));
        assert!("0".parse::<Vrid>().is_err());
        assert!("256".parse::<Vrid>().unwrap_err().contains("1..=255"));
        assert!("x".parse::<Priority>().is_err());
        assert_eq!("-253".parse::<TrackWeight>().unwrap(), TrackWeight(-253));
        assert!("254".parse::<TrackWeight>().is_err());
    }

    #[test]
    fn words_and_quotes() {
        assert_eq!(
            split_words(r#"/bin/echo "a b" 'c d' e\ f \x41\t"#).unwrap(),
            vec!["/bin/echo", "a b", "c d", "e f", "A\t"]
        );
        assert!(split_words("\"open").is_err());
        for w in ["plain", "with space", "it's", "back\\slash", ""] {
            let q = shell_quote(w);
            assert_eq!(split_words(&q).unwrap(), vec![w.to_string()], "{q}");
        }
    }

    #[test]
    fn script_forms() {
        let s: Script = toml::from_str::<std::collections::BTreeMap<String, Script>>(
            "a = \"/bin/x 'y z'\"\nb = [\"/bin/y\", \"1\"]\nc = { command = \"/bin/z\", user = \"nobody\" }",
        )
        .unwrap()
        .remove("c")
        .unwrap();
        assert_eq!(s.argv, vec!["/bin/z"]);
        assert_eq!(s.user.as_deref(), Some("nobody"));
    }
}
