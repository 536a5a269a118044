//! The topology: the raw file model ([`spec`]), checked values ([`ids`], [`secret`],
//! [`version`], [`enums`]) and the resolved model validation builds from them ([`resolved`]).

pub mod enums;
pub mod ids;
pub mod resolved;
pub mod secret;
pub mod spec;
pub mod version;
