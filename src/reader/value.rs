//! Decoding a record's values.
use super::error::ReadError;
use super::event::Record;
use crate::wire::tag;
use smallvec::SmallVec;
use tachylog_fmt::{Plain, Value};

/// A structured field or argument value decoded from a record.
pub type FieldValue<'a> = Value<'a>;

/// Why a record's values could not be decoded or rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String);

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Values of one record, on the stack for up to eight of them (no allocation per record).
pub(super) type Values<'a> = SmallVec<[Value<'a>; 8]>;

impl Record {
    /// Checks that the record's values decode; the error names the file and the record's
    /// offset. `decode`, `verify` and `stats` count such a record as damage.
    pub fn check_values(&self) -> Result<(), ReadError> {
        match self.with_values(|_, _| ()) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.undecodable(&e)),
        }
    }

    /// The error for values of this record that cannot be decoded (`e`, from
    /// [`Record::write_message`] or [`Record::fields`]): damage at the record's offset.
    pub fn undecodable(&self, e: &ValueError) -> ReadError {
        let (path, offset) = self.source();
        ReadError::Corrupt {
            path: path.to_owned(),
            offset,
            reason: format!("record values cannot be decoded: {e}"),
        }
    }

    /// Decodes the values (format arguments, then fields) on the stack and hands them to `f`.
    #[inline]
    pub(super) fn with_values<R>(
        &self,
        f: impl FnOnce(&[Value<'_>], &[Value<'_>]) -> R,
    ) -> Result<R, ValueError> {
        // Filled in place: returning two `SmallVec`s by value would copy them.
        let (mut args, mut fields) = (Values::new(), Values::new());
        self.values_into(&mut args, &mut fields)?;
        Ok(f(&args, &fields))
    }

    /// The decoded values: format arguments, then fields.
    #[inline(always)]
    pub(super) fn values(&self) -> Result<(Values<'_>, Values<'_>), ValueError> {
        let (mut args, mut fields) = (Values::new(), Values::new());
        self.values_into(&mut args, &mut fields)?;
        Ok((args, fields))
    }

    /// Decodes the values (format arguments, then fields) into `args` and `fields`.
    #[inline(always)]
    pub(super) fn values_into<'a>(
        &'a self,
        args: &mut Values<'a>,
        fields: &mut Values<'a>,
    ) -> Result<(), ValueError> {
        let cs = self.callsite();
        let mut cur = Cursor {
            buf: self.args(),
            pos: 0,
        };
        for _ in 0..cs.parsed.arg_names().len() {
            args.push(cur.value(0)?);
        }
        for _ in 0..cs.field_names.len() {
            fields.push(cur.value(0)?);
        }
        if cur.pos != cur.buf.len() {
            return Err(ValueError(format!(
                "{} stray bytes after the values",
                cur.buf.len() - cur.pos
            )));
        }
        Ok(())
    }
}

/// Deepest `Some(Some(..))` nesting accepted (bounds recursion on hostile input).
const MAX_DEPTH: usize = 16;

pub(super) struct Cursor<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ValueError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| {
            ValueError(format!("value runs past the record at byte {}", self.pos))
        })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn arr<const N: usize>(&mut self) -> Result<[u8; N], ValueError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// Decodes the next value and writes it as a plain `{}` does, returning whether what it
    /// wrote is plain text whatever the value ([`Plain::writes_plain_text`]); `None` if it does
    /// not decode or `{}` does not apply to it. The usual fixed-size tags are read in place.
    #[inline]
    pub(super) fn plain_arg(&mut self, out: &mut String) -> Option<bool> {
        fn fixed<const N: usize>(c: &mut Cursor<'_>) -> Option<[u8; N]> {
            let b = c.buf.get(c.pos + 1..c.pos + 1 + N)?;
            c.pos += 1 + N;
            b.try_into().ok()
        }
        let v = match self.buf.get(self.pos) {
            Some(&tag::I32) => fixed(self).map(|b| Value::I32(i32::from_le_bytes(b))),
            Some(&tag::I64) => fixed(self).map(|b| Value::I64(i64::from_le_bytes(b))),
            Some(&tag::U32) => fixed(self).map(|b| Value::U32(u32::from_le_bytes(b))),
            Some(&tag::U64) => fixed(self).map(|b| Value::U64(u64::from_le_bytes(b))),
            Some(&tag::F64) => fixed(self).map(|b| Value::F64(f64::from_le_bytes(b))),
            _ => self.value(0).ok(),
        };
        let v = v?;
        Plain::write_arg(out, &v).then(|| Plain::writes_plain_text(&v))
    }

    pub(super) fn value(&mut self, depth: usize) -> Result<Value<'a>, ValueError> {
        let t = self.arr::<1>()?[0];
        Ok(match t {
            tag::NONE => Value::None,
            tag::SOME if depth < MAX_DEPTH => Value::Some(Box::new(self.value(depth + 1)?)),
            tag::U8 => Value::U8(self.arr::<1>()?[0]),
            tag::U16 => Value::U16(u16::from_le_bytes(self.arr()?)),
            tag::U32 => Value::U32(u32::from_le_bytes(self.arr()?)),
            tag::U64 => Value::U64(u64::from_le_bytes(self.arr()?)),
            tag::U128 => Value::U128(u128::from_le_bytes(self.arr()?)),
            tag::I8 => Value::I8(i8::from_le_bytes(self.arr()?)),
            tag::I16 => Value::I16(i16::from_le_bytes(self.arr()?)),
            tag::I32 => Value::I32(i32::from_le_bytes(self.arr()?)),
            tag::I64 => Value::I64(i64::from_le_bytes(self.arr()?)),
            tag::I128 => Value::I128(i128::from_le_bytes(self.arr()?)),
            tag::F32 => Value::F32(f32::from_le_bytes(self.arr()?)),
            tag::F64 => Value::F64(f64::from_le_bytes(self.arr()?)),
            tag::BOOL => match self.arr::<1>()?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(ValueError(format!("invalid bool byte {b}"))),
            },
            tag::CHAR => {
                let v = u32::from_le_bytes(self.arr()?);
                Value::Char(
                    char::from_u32(v).ok_or_else(|| ValueError(format!("invalid char {v:#x}")))?,
                )
            }
            tag::STR | tag::PRE | tag::FORMATTED => {
                let n = u32::from_le_bytes(self.arr()?) as usize;
                let at = self.pos;
                let s = std::str::from_utf8(self.take(n)?).map_err(|e| {
                    ValueError(format!(
                        "invalid UTF-8 in a string at byte {}",
                        at + e.valid_up_to()
                    ))
                })?;
                match t {
                    tag::STR => Value::Str(s),
                    tag::PRE => Value::Pre(s),
                    _ => Value::Formatted(s),
                }
            }
            other => return Err(ValueError(format!("unknown value tag {other}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_rejects_truncation_bad_tags_and_deep_nesting() {
        let mut c = Cursor {
            buf: &[tag::U32, 1, 2],
            pos: 0,
        };
        assert!(c.value(0).is_err());
        let mut c = Cursor {
            buf: &[200],
            pos: 0,
        };
        assert!(c.value(0).is_err());
        let deep = vec![tag::SOME; 64];
        let mut c = Cursor { buf: &deep, pos: 0 };
        assert!(c.value(0).is_err());
        let mut c = Cursor {
            buf: &[tag::STR, 255, 255, 255, 255, b'a'],
            pos: 0,
        };
        assert!(c.value(0).is_err());
    }
}
