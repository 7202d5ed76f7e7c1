//! Signing in to Microsoft Entra ID and keeping the resulting tokens.

pub mod token_cache;
