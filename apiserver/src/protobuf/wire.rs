//! The protobuf wire format: varints, tags, and length-delimited fields.

/// A field's value as the wire carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WireValue<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2.
    Len(&'a [u8]),
    /// Wire type 5.
    Fixed32(u32),
}

impl WireValue<'_> {
    /// The wire type's name, for messages.
    pub(super) fn describe(&self) -> &'static str {
        match self {
            WireValue::Varint(_) => "a varint",
            WireValue::Fixed64(_) => "a 64-bit value",
            WireValue::Len(_) => "a length-delimited value",
            WireValue::Fixed32(_) => "a 32-bit value",
        }
    }
}

/// Reads the fields of one message, in order.
#[derive(Debug)]
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Whether everything has been read.
    pub(super) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The next base-128 varint.
    pub(super) fn varint(&mut self) -> Result<u64, String> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err("the data ends inside a varint".to_string());
            };
            self.pos += 1;
            if i == 9 && byte > 1 {
                return Err("a varint overflows 64 bits".to_string());
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a varint overflows 64 bits".to_string())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or_else(|| {
                format!(
                    "the data ends {} bytes into a value of {n} bytes",
                    self.buf.len().saturating_sub(self.pos)
                )
            })?;
        let bytes = self.buf.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(bytes)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// The next field's number and value, or `None` at the end.
    pub(super) fn field(&mut self) -> Result<Option<(u32, WireValue<'a>)>, String> {
        if self.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > (1 << 29) - 1 {
            return Err(format!("invalid field number {number}"));
        }
        let tag = u32::try_from(number).map_err(|_| format!("invalid field number {number}"))?;
        let value = match key & 7 {
            0 => WireValue::Varint(self.varint()?),
            1 => WireValue::Fixed64(u64::from_le_bytes(self.fixed::<8>()?)),
            2 => {
                let len = self.varint()?;
                let len = usize::try_from(len)
                    .map_err(|_| format!("field {tag} claims a length of {len} bytes"))?;
                WireValue::Len(self.take(len)?)
            }
            5 => WireValue::Fixed32(u32::from_le_bytes(self.fixed::<4>()?)),
            3 | 4 => {
                return Err(format!(
                    "field {tag} is a group, which Kubernetes never uses"
                ));
            }
            other => return Err(format!("field {tag} has the invalid wire type {other}")),
        };
        Ok(Some((tag, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(Reader::new(&[0x96, 0x01]).varint(), Ok(150));
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).varint(),
            Ok(u64::MAX)
        );
        assert!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
                .varint()
                .is_err()
        );
        assert!(Reader::new(&[0x80; 11]).varint().is_err());
        assert!(Reader::new(&[0x80, 0x80]).varint().is_err());
    }

    #[test]
    fn fields() {
        // 1: "hi", 2: 5, 3: fixed64, 4: fixed32
        let buf = [
            0x0a, 2, b'h', b'i', 0x10, 5, 0x19, 1, 0, 0, 0, 0, 0, 0, 0, 0x25, 2, 0, 0, 0,
        ];
        let mut r = Reader::new(&buf);
        assert_eq!(r.field(), Ok(Some((1, WireValue::Len(b"hi")))));
        assert_eq!(r.field(), Ok(Some((2, WireValue::Varint(5)))));
        assert_eq!(r.field(), Ok(Some((3, WireValue::Fixed64(1)))));
        assert_eq!(r.field(), Ok(Some((4, WireValue::Fixed32(2)))));
        assert_eq!(r.field(), Ok(None));
    }

    #[test]
    fn truncated_and_invalid() {
        assert!(Reader::new(&[0x0a, 5, b'a']).field().is_err());
        assert!(
            Reader::new(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])
                .field()
                .is_err()
        );
        assert!(Reader::new(&[0x19, 1, 2]).field().is_err());
        assert!(Reader::new(&[0x0b]).field().is_err()); // group
        assert!(Reader::new(&[0x0e]).field().is_err()); // wire type 6
        assert!(Reader::new(&[0x02]).field().is_err()); // field 0
    }
}
