//! A view row's fields as bound parameters, in its table's column order:
//! how `batch::insert_rows` hands SQLite a batch's rows as `VALUES` without
//! a JSON text in between. The row's own `Serialize` walks the fields, so
//! the row types need nothing beyond what the JSON path already uses, and
//! a field out of its column's place is refused rather than bound to the
//! wrong column.

use crate::db::Column;
use serde::Serialize;
use serde::ser::{self, Impossible};
use sqlx::Arguments;
use sqlx::any::AnyArguments;
use std::fmt;

/// Appends `row`'s fields to `args`, one per column of `columns`, in order.
pub(super) fn bind_row<R: Serialize>(
    row: &R,
    columns: &'static [(&'static str, Column)],
    args: &mut AnyArguments<'_>,
) -> Result<(), sqlx::Error> {
    let mut binder = RowBinder {
        args,
        columns,
        next: 0,
    };
    row.serialize(&mut binder)
        .map_err(|e| sqlx::Error::Encode(e.0.into()))
}

/// The serializer methods of the values neither binder takes: lists, tuples,
/// maps, and enum variants with fields (`variant` names those).
macro_rules! refuse_compounds {
    ($variant:literal) => {
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, BindError> {
            refuse("a list")
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, BindError> {
            refuse("a tuple")
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, BindError> {
            refuse("a tuple")
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, BindError> {
            refuse("a tuple")
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, BindError> {
            refuse("a map")
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, BindError> {
            refuse($variant)
        }
    };
}

#[derive(Debug)]
pub(super) struct BindError(String);

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BindError {}

impl ser::Error for BindError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        BindError(msg.to_string())
    }
}

fn refuse<T>(what: &str) -> Result<T, BindError> {
    Err(BindError(format!(
        "a view row holds {what}; only text, integers and their absence are columns"
    )))
}

struct RowBinder<'r, 'q> {
    args: &'r mut AnyArguments<'q>,
    columns: &'static [(&'static str, Column)],
    next: usize,
}

/// One field's value, bound as its column's type (a NULL needs one).
struct ValueBinder<'r, 'q> {
    args: &'r mut AnyArguments<'q>,
    column: Column,
}

impl<'q> ValueBinder<'_, 'q> {
    fn add<T>(self, value: T) -> Result<(), BindError>
    where
        T: 'q + sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        self.args.add(value).map_err(|e| BindError(e.to_string()))
    }
}

impl<'q> ser::SerializeStruct for &mut RowBinder<'_, 'q> {
    type Ok = ();
    type Error = BindError;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), BindError> {
        let Some(&(name, column)) = self.columns.get(self.next) else {
            return Err(BindError(format!("field {key} has no column")));
        };
        if name != key {
            return Err(BindError(format!(
                "field {key} stands where column {name} is expected"
            )));
        }
        self.next += 1;
        value.serialize(ValueBinder {
            args: self.args,
            column,
        })
    }

    fn end(self) -> Result<(), BindError> {
        match self.columns.get(self.next) {
            None => Ok(()),
            Some((name, _)) => Err(BindError(format!("column {name} has no field"))),
        }
    }
}

impl<'a, 'q> ser::Serializer for &'a mut RowBinder<'_, 'q> {
    type Ok = ();
    type Error = BindError;
    type SerializeSeq = Impossible<(), BindError>;
    type SerializeTuple = Impossible<(), BindError>;
    type SerializeTupleStruct = Impossible<(), BindError>;
    type SerializeTupleVariant = Impossible<(), BindError>;
    type SerializeMap = Impossible<(), BindError>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), BindError>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, BindError> {
        Ok(self)
    }

    fn serialize_bool(self, _: bool) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_i8(self, _: i8) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_i16(self, _: i16) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_i32(self, _: i32) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_i64(self, _: i64) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_u8(self, _: u8) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_u16(self, _: u16) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_u32(self, _: u32) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_u64(self, _: u64) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_f32(self, _: f32) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_f64(self, _: f64) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_char(self, _: char) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_str(self, _: &str) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_none(self) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_unit(self) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), BindError> {
        refuse("a bare value")
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), BindError> {
        refuse("a bare value")
    }
    refuse_compounds!("an enum");
}

impl<'q> ser::Serializer for ValueBinder<'_, 'q> {
    type Ok = ();
    type Error = BindError;
    type SerializeSeq = Impossible<(), BindError>;
    type SerializeTuple = Impossible<(), BindError>;
    type SerializeTupleStruct = Impossible<(), BindError>;
    type SerializeTupleVariant = Impossible<(), BindError>;
    type SerializeMap = Impossible<(), BindError>;
    type SerializeStruct = Impossible<(), BindError>;
    type SerializeStructVariant = Impossible<(), BindError>;

    fn serialize_str(self, v: &str) -> Result<(), BindError> {
        self.add(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<(), BindError> {
        self.add(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), BindError> {
        self.add(i64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), BindError> {
        self.add(i64::from(v))
    }
    fn serialize_bool(self, v: bool) -> Result<(), BindError> {
        self.add(i64::from(v))
    }
    fn serialize_none(self) -> Result<(), BindError> {
        match self.column {
            Column::Text => self.add(None::<String>),
            Column::Int => self.add(None::<i64>),
        }
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), BindError> {
        value.serialize(self)
    }

    fn serialize_i8(self, v: i8) -> Result<(), BindError> {
        self.add(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), BindError> {
        self.add(i64::from(v))
    }
    fn serialize_u8(self, v: u8) -> Result<(), BindError> {
        self.add(i64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), BindError> {
        self.add(i64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), BindError> {
        match i64::try_from(v) {
            Ok(v) => self.add(v),
            Err(_) => refuse("an integer past 64 signed bits"),
        }
    }
    fn serialize_f32(self, _: f32) -> Result<(), BindError> {
        refuse("a fraction")
    }
    fn serialize_f64(self, _: f64) -> Result<(), BindError> {
        refuse("a fraction")
    }
    fn serialize_char(self, v: char) -> Result<(), BindError> {
        self.add(v.to_string())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), BindError> {
        refuse("bytes")
    }
    fn serialize_unit(self) -> Result<(), BindError> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), BindError> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), BindError> {
        self.add(variant.to_string())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), BindError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), BindError> {
        refuse("an enum with data")
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, BindError> {
        refuse("a nested object")
    }
    refuse_compounds!("an enum with data");
}
