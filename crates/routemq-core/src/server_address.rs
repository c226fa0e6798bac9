//! The rules for a server's host and port given as separate variables
//! (`REDIS_HOST`/`REDIS_PORT`, `DB_HOST`/`DB_PORT`): one rule for every driver.
//! Each returns the reason a value is refused; the driver names the variable.

/// Checks a host variable's value (trimmed): a name or address only, no scheme,
/// credentials, path or port separator.
pub fn check_host(value: &str) -> Result<&str, &'static str> {
    let host = value.trim();
    if host.is_empty() || host.contains(['/', '@', ' ', '?', '#']) {
        return Err(
            "is not a host name or address (give only the host; the port has its own variable)",
        );
    }
    Ok(host)
}

/// Parses a port variable's value: 1–65535 (0 is refused: it means "any port").
pub fn parse_port(value: &str) -> Result<u16, &'static str> {
    match value.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err("is not a port number (1-65535)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports() {
        assert_eq!(check_host(" db.local "), Ok("db.local"));
        assert!(check_host("mysql://db").is_err());
        assert!(check_host("u@db").is_err());
        assert_eq!(parse_port("6380"), Ok(6380));
        for bad in ["0", "70000", "abc", "-1"] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
    }
}
