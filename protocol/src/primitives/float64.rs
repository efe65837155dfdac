//! [`Float64`]: the `float64` field type (client quota values).

/// A `float64` field value: an IEEE 754 double, big-endian on the wire.
///
/// A newtype rather than a bare `f64` so that the message structs keep `Eq`: two values are equal when their bits
/// are (so a NaN equals itself and `0.0` differs from `-0.0`), which is what a byte-exact round trip needs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Float64(pub f64);

impl PartialEq for Float64 {
    fn eq(&self, other: &Float64) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Float64 {}

impl From<f64> for Float64 {
    fn from(v: f64) -> Float64 {
        Float64(v)
    }
}

impl From<Float64> for f64 {
    fn from(v: Float64) -> f64 {
        v.0
    }
}

#[cfg(test)]
mod tests {
    use super::Float64;

    #[test]
    fn equality_is_by_bits() {
        assert_eq!(Float64(f64::NAN), Float64(f64::NAN));
        assert_ne!(Float64(0.0), Float64(-0.0));
        assert_eq!(Float64::from(1.5), Float64(1.5));
        assert_eq!(f64::from(Float64(2.0)), 2.0);
    }
}
