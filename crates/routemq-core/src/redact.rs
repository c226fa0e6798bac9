//! [`redact_url`]: the one place that hides passwords in server URLs.

/// Replaces the password of `scheme://user:password@host…` with `***`, keeping
/// the user name; a URL without a password (or anything that is not a URL) comes
/// back as it is. Every crate that prints a server URL (driver errors, the CLI's
/// `routemq config`) goes through this function.
///
/// ```
/// use routemq_core::redact_url;
/// assert_eq!(redact_url("mysql://app:s3cret@db:3306/jobs"), "mysql://app:***@db:3306/jobs");
/// assert_eq!(redact_url("redis://:pw@cache:6379/0"), "redis://:***@cache:6379/0");
/// assert_eq!(redact_url("redis://cache:6379/0"), "redis://cache:6379/0");
/// ```
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    // The last '@' before the path: a password may itself contain '@'.
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &rest[..at];
    let user = match userinfo.find(':') {
        Some(colon) => format!("{}:***", &userinfo[..colon]),
        None => userinfo.to_owned(),
    };
    format!("{}://{}{}", &url[..scheme_end], user, &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_hidden_and_the_rest_kept() {
        assert_eq!(redact_url("redis://h:6379/0"), "redis://h:6379/0");
        assert_eq!(redact_url("mysql://root@h/test"), "mysql://root@h/test");
        assert_eq!(redact_url("mysql://u:p@w@h/test"), "mysql://u:***@h/test");
        assert_eq!(
            redact_url("http://bob:hunter2@host/0"),
            "http://bob:***@host/0"
        );
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(
            redact_url("redis://h/0?password=x@y"),
            "redis://h/0?password=x@y",
            "an '@' after the host is not user info"
        );
    }
}
