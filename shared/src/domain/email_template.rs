//! The invite email, rendered without any AWS type, from compile-time templates
//! (`shared/templates/invite.html` and `invite.txt`). The HTML template escapes every value by
//! construction (askama's HTML escaper); everything a person typed (names, company, team) is
//! also made one line before it goes anywhere, so neither markup nor a header nor a fake
//! paragraph in the text part can ride in on it. The words are in `email_strings`.

use super::email::Email;
use super::email_strings::{
    InviteStrings, ResetStrings, TwoStepResetStrings, EN, EN_RESET, EN_TWO_STEP_RESET,
};
use super::role::Role;
use askama::Template;
use base64::Engine;
use time::OffsetDateTime;

/// The person an invite comes from: the From display name, the Reply-To and the words.
#[derive(Debug, Clone, Copy)]
pub struct Inviter<'a> {
    pub name: &'a str,
    /// A parsed address: nothing that could break the Reply-To header gets this far.
    pub email: &'a Email,
}

pub struct InviteMail<'a> {
    pub company: &'a str,
    /// `None` when no person invites (the tenant tool's first admin).
    pub inviter: Option<Inviter<'a>>,
    pub invitee: &'a str,
    pub role: Role,
    pub team: Option<&'a str>,
    pub sent_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// The IANA zone the expiry is written in (the inviter's, from the console); UTC without.
    /// Must be one `time_zone` accepts.
    pub time_zone: Option<&'a str>,
    /// A resend: a new link replaces the old one.
    pub resent: bool,
    /// `{APP_URL}/accept#token=<token>`; the token rides in the fragment so it never reaches
    /// a server log or a Referer header.
    pub link: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
    /// The From display name (one line; `mailbox` encodes it for the header).
    pub from_name: String,
    /// Where a reply goes: the inviter, so a question reaches a person.
    pub reply_to: Option<String>,
}

/// One line, no control characters, bounded: safe inside a MIME header.
pub fn header_safe(s: &str, max_chars: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let collapsed = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.chars().take(max_chars).collect()
}

/// `Display Name <address>` for a From header. A name of plain characters is quoted as is;
/// any other is written as RFC 2047 encoded words (UTF-8, base64), which is what SES asks for
/// non-ASCII names and which no quote, bracket or line break in a name can escape from.
pub fn mailbox(display: &str, address: &str) -> String {
    let display = header_safe(display, 100);
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '-' | '\'');
    if display.is_empty() {
        return address.to_string();
    }
    if display.chars().all(plain) {
        return format!("\"{display}\" <{address}>");
    }
    // 45 bytes of UTF-8 per word: base64 makes 60, with the markers 72 of the 75 allowed.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in display.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    let b64 = base64::engine::general_purpose::STANDARD;
    let encoded: Vec<String> = words
        .iter()
        .map(|w| format!("=?UTF-8?B?{}?=", b64.encode(w)))
        .collect();
    format!("{} <{address}>", encoded.join(" "))
}

/// Checks an IANA time zone name against the compiled-in time zone database and gives back its
/// canonical spelling.
pub fn time_zone(name: &str) -> Result<String, String> {
    let bad = || "must be an IANA time zone name such as Europe/Berlin".to_string();
    if name.is_empty() || name.len() > 64 || !name.is_ascii() {
        return Err(bad());
    }
    let tz = jiff::tz::TimeZone::get(name).map_err(|_| bad())?;
    Ok(tz.iana_name().unwrap_or(name).to_string())
}

/// "Tuesday, 8 December 2026 at 10:05 CET (Europe/Berlin)": a date read without converting,
/// with the zone named. Falls back to UTC for a zone the database doesn't know.
fn when(t: OffsetDateTime, zone: Option<&str>, at: &str) -> String {
    let tz = zone
        .and_then(|z| jiff::tz::TimeZone::get(z).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let Ok(ts) = jiff::Timestamp::from_second(t.unix_timestamp()) else {
        return t.to_string();
    };
    let z = ts.to_zoned_datetime(tz);
    let date = z.strftime("%A, %-d %B %Y");
    let clock = z.strftime("%H:%M %Z");
    match z.time_zone().iana_name() {
        Some(name) if name != "UTC" && !name.starts_with("Etc/") => {
            format!("{date} {at} {clock} ({name})")
        }
        _ => format!("{date} {at} {clock}"),
    }
}

/// What both parts show, every value one line and final.
struct Content<'a> {
    s: &'a InviteStrings,
    subject: String,
    preheader: String,
    heading: String,
    resent_note: Option<&'a str>,
    greeting: String,
    role: &'a str,
    role_can: &'a str,
    team: Option<String>,
    link: &'a str,
    expires: String,
    expired_ask: String,
    why: String,
}

#[derive(Template)]
#[template(path = "invite.html", escape = "html")]
struct HtmlPart<'a> {
    m: &'a Content<'a>,
}

#[derive(Template)]
#[template(path = "invite.txt", escape = "none")]
struct TextPart<'a> {
    m: &'a Content<'a>,
}

pub fn render_invite(m: &InviteMail<'_>) -> Rendered {
    render_invite_in(&EN, m)
}

#[allow(
    clippy::expect_used,
    reason = "askama renders into a String, whose writes can't fail; the templates' own errors are compile errors"
)]
pub fn render_invite_in(s: &InviteStrings, m: &InviteMail<'_>) -> Rendered {
    let line = |v: &str| header_safe(v, 200);
    let company = line(m.company);
    let inviter = m
        .inviter
        .map(|i| (line(i.name), i.email.as_str().to_string()));
    let heading = match &inviter {
        Some((name, _)) => (s.invited_by)(name, &company),
        None => (s.invited)(&company),
    };
    let subject = if m.resent {
        (s.resent_subject)(&heading)
    } else {
        heading.clone()
    };
    let days = (m.expires_at - m.sent_at).whole_days().max(1);
    let expires = (s.expires)(days, &when(m.expires_at, m.time_zone, s.at));
    let c = Content {
        s,
        subject: header_safe(&subject, 200),
        preheader: format!("{}. {expires}", s.button),
        heading,
        resent_note: m.resent.then_some(s.resent_note),
        greeting: (s.greeting)(&line(m.invitee)),
        role: m.role.label(),
        role_can: (s.role_can)(m.role),
        team: m.team.map(line),
        link: m.link,
        expires,
        expired_ask: match &inviter {
            Some((name, _)) => (s.expired_ask)(name),
            None => s.expired_ask_nobody.to_string(),
        },
        why: match &inviter {
            Some((name, email)) => (s.why_by)(name, email, &company),
            None => (s.why)(&company),
        },
    };
    Rendered {
        html: HtmlPart { m: &c }
            .render()
            .expect("rendering into a String cannot fail"),
        text: TextPart { m: &c }
            .render()
            .expect("rendering into a String cannot fail"),
        from_name: match &inviter {
            Some((name, _)) => header_safe(&(s.from_name)(name), 100),
            None => s.product.to_string(),
        },
        reply_to: inviter.map(|(_, email)| email),
        subject: c.subject,
    }
}

/// A password-reset email: to the user, from VeloConnect (they asked) or an admin (who sent it).
pub struct ResetMail<'a> {
    pub company: &'a str,
    pub name: &'a str,
    /// The account's address, shown so the reader knows which account it is.
    pub account: &'a Email,
    /// The admin who sent it; `None` when the user asked on the sign-in page.
    pub sent_by: Option<Inviter<'a>>,
    pub expires_at: OffsetDateTime,
    /// The IANA zone the expiry is written in (the requester's browser's); UTC without.
    pub time_zone: Option<&'a str>,
    /// `{APP_URL}/reset#token=<token>`, the token in the fragment as the invite's.
    pub link: &'a str,
}

struct ResetContent<'a> {
    s: &'a ResetStrings,
    subject: String,
    preheader: String,
    heading: &'a str,
    greeting: String,
    intro: String,
    account: &'a str,
    link: &'a str,
    expires: String,
    why: String,
    ignore: String,
}

#[derive(Template)]
#[template(path = "reset.html", escape = "html")]
struct ResetHtml<'a> {
    m: &'a ResetContent<'a>,
}

#[derive(Template)]
#[template(path = "reset.txt", escape = "none")]
struct ResetText<'a> {
    m: &'a ResetContent<'a>,
}

#[allow(
    clippy::expect_used,
    reason = "askama renders into a String, whose writes can't fail; the templates' own errors are compile errors"
)]
pub fn render_reset(m: &ResetMail<'_>) -> Rendered {
    let s = &EN_RESET;
    let line = |v: &str| header_safe(v, 200);
    let company = line(m.company);
    let admin = m
        .sent_by
        .map(|a| (line(a.name), a.email.as_str().to_string()));
    let expires = (s.expires)(&when(m.expires_at, m.time_zone, s.at));
    let c = ResetContent {
        s,
        subject: match &admin {
            Some((name, _)) => header_safe(&(s.subject_by)(name), 200),
            None => s.subject.to_string(),
        },
        preheader: format!("{}. {expires}", s.button),
        heading: s.heading,
        greeting: (s.greeting)(&line(m.name)),
        intro: match &admin {
            Some((name, _)) => (s.intro_by)(name, &company),
            None => (s.intro)(&company),
        },
        account: m.account.as_str(),
        link: m.link,
        expires,
        why: (s.why)(&company),
        ignore: match &admin {
            Some((name, _)) => (s.ignore_by)(name),
            None => s.ignore.to_string(),
        },
    };
    Rendered {
        html: ResetHtml { m: &c }
            .render()
            .expect("rendering into a String cannot fail"),
        text: ResetText { m: &c }
            .render()
            .expect("rendering into a String cannot fail"),
        from_name: match &admin {
            Some((name, _)) => header_safe(&(s.from_name)(name), 100),
            None => s.product.to_string(),
        },
        reply_to: admin.map(|(_, email)| email),
        subject: c.subject,
    }
}

/// The notice that an admin reset a user's two-step verification: to the user, from the admin.
pub struct TwoStepResetMail<'a> {
    pub company: &'a str,
    pub name: &'a str,
    pub account: &'a Email,
    pub admin: Inviter<'a>,
    pub at: OffsetDateTime,
    /// The IANA zone `at` is written in (the admin's browser's); UTC without.
    pub time_zone: Option<&'a str>,
    /// Whether the company requires two-step verification of this user's role.
    pub required: bool,
    /// The console's sign-in page.
    pub link: &'a str,
}

struct TwoStepResetContent<'a> {
    s: &'a TwoStepResetStrings,
    subject: String,
    preheader: String,
    greeting: String,
    intro: String,
    account: &'a str,
    link: &'a str,
    required: Option<String>,
    why: String,
    unexpected: String,
}

#[derive(Template)]
#[template(path = "two-step-reset.html", escape = "html")]
struct TwoStepResetHtml<'a> {
    m: &'a TwoStepResetContent<'a>,
}

#[derive(Template)]
#[template(path = "two-step-reset.txt", escape = "none")]
struct TwoStepResetText<'a> {
    m: &'a TwoStepResetContent<'a>,
}

#[allow(
    clippy::expect_used,
    reason = "askama renders into a String, whose writes can't fail; the templates' own errors are compile errors"
)]
pub fn render_two_step_reset(m: &TwoStepResetMail<'_>) -> Rendered {
    let s = &EN_TWO_STEP_RESET;
    let line = |v: &str| header_safe(v, 200);
    let (company, admin) = (line(m.company), line(m.admin.name));
    let c = TwoStepResetContent {
        s,
        subject: header_safe(&(s.subject)(&admin), 200),
        preheader: s.next.to_string(),
        greeting: (s.greeting)(&line(m.name)),
        intro: (s.intro)(&admin, &company, &when(m.at, m.time_zone, s.at)),
        account: m.account.as_str(),
        link: m.link,
        required: m.required.then(|| (s.required)(&company)),
        why: (s.why)(&admin, &company),
        unexpected: (s.unexpected)(&admin),
    };
    Rendered {
        html: TwoStepResetHtml { m: &c }
            .render()
            .expect("rendering into a String cannot fail"),
        text: TwoStepResetText { m: &c }
            .render()
            .expect("rendering into a String cannot fail"),
        from_name: header_safe(&(s.from_name)(&admin), 100),
        reply_to: Some(m.admin.email.as_str().to_string()),
        subject: c.subject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const HOSTILE: &str =
        "Eve \"<img src=x onerror=alert(1)>\"\r\nBcc: all@example.com <script>x</script> & 'co'";

    fn ann() -> &'static Email {
        static ANN: std::sync::OnceLock<Email> = std::sync::OnceLock::new();
        ANN.get_or_init(|| Email::parse("ann@acme.test").unwrap())
    }

    fn mail<'a>(company: &'a str, inviter: &'a str) -> InviteMail<'a> {
        InviteMail {
            company,
            inviter: Some(Inviter {
                name: inviter,
                email: ann(),
            }),
            invitee: "Jane <Doe>",
            role: Role::Supervisor,
            team: Some("Sales & Support"),
            sent_at: datetime!(2026-12-01 09:05 UTC),
            expires_at: datetime!(2026-12-08 09:05 UTC),
            time_zone: Some("Europe/Berlin"),
            resent: false,
            link: "https://app.example.com/accept#token=abc.def",
        }
    }

    /// No tag, attribute or entity of the HTML part comes from a value: every `<` in the output
    /// is one the template wrote.
    fn tags(html: &str) -> Vec<String> {
        html.split('<')
            .skip(1)
            .map(|t| {
                t.split(|c: char| c.is_whitespace() || c == '>')
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn no_person_supplied_field_can_inject_markup() {
        let clean = render_invite(&mail("Acme", "Ann Lee"));
        // The inviter's address is the fifth person-supplied field: it is an `Email`, and
        // nothing that could break out of a header or an attribute parses as one.
        for bad in [
            HOSTILE,
            "a@b.test\r\nBcc: x@y.test",
            "\"a\"@b.test",
            "<a@b.test>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        type Set = fn(&mut InviteMail<'static>);
        let fields: [(&str, Set); 4] = [
            ("company", |m| m.company = HOSTILE),
            ("inviter", |m| m.inviter.as_mut().unwrap().name = HOSTILE),
            ("invitee", |m| m.invitee = HOSTILE),
            ("team", |m| m.team = Some(HOSTILE)),
        ];
        for (field, set) in fields {
            let mut m = mail("Acme", "Ann Lee");
            set(&mut m);
            let r = render_invite(&m);
            assert_eq!(
                tags(&r.html),
                tags(&clean.html),
                "{field} changed the markup"
            );
            assert!(!r.html.contains("<img") && !r.html.contains("<script"));
            assert!(
                r.html.contains("&#60;img src=x onerror=alert(1)&#62;"),
                "{field}: {}",
                r.html
            );
            assert!(!r.subject.contains(['\r', '\n']), "{field}");
            assert!(!r.from_name.contains(['\r', '\n']), "{field}");
            for l in r.text.lines() {
                assert!(
                    !l.starts_with("Bcc:"),
                    "{field} started a line of the text part"
                );
            }
            assert_eq!(r.reply_to.as_deref(), Some("ann@acme.test"), "{field}");
        }
    }

    #[test]
    fn names_cannot_inject_headers_into_the_subject() {
        let r = render_invite(&mail("Acme\r\nBcc: everyone@example.com", "Eve\n"));
        assert!(!r.subject.contains('\r') && !r.subject.contains('\n'));
        assert_eq!(
            r.subject,
            "Eve invited you to join Acme Bcc: everyone@example.com on VeloConnect"
        );
    }

    #[test]
    fn the_from_mailbox_keeps_the_address_whatever_the_name() {
        assert_eq!(
            mailbox("Ann Lee via VeloConnect", "no-reply@x.test"),
            "\"Ann Lee via VeloConnect\" <no-reply@x.test>"
        );
        for name in [
            HOSTILE,
            "Zoë Ångström via VeloConnect",
            "a\"b\\c <evil@x.test>",
        ] {
            let m = mailbox(name, "no-reply@x.test");
            assert!(!m.contains(['\r', '\n', '"']), "{m}");
            assert!(m.ends_with(" <no-reply@x.test>"), "{m}");
            assert_eq!(m.matches('<').count(), 1, "{m}");
            let decoded: String = m
                .trim_end_matches(" <no-reply@x.test>")
                .split(' ')
                .map(|w| {
                    let b = w
                        .strip_prefix("=?UTF-8?B?")
                        .unwrap()
                        .strip_suffix("?=")
                        .unwrap();
                    assert!(w.len() <= 75);
                    let bytes = base64::engine::general_purpose::STANDARD.decode(b).unwrap();
                    String::from_utf8(bytes).unwrap()
                })
                .collect();
            assert_eq!(decoded, header_safe(name, 100));
        }
    }

    #[test]
    fn both_parts_carry_the_role_the_team_the_expiry_and_the_link() {
        let r = render_invite(&mail("Acme", "Ann Lee"));
        assert_eq!(r.subject, "Ann Lee invited you to join Acme on VeloConnect");
        assert_eq!(r.from_name, "Ann Lee via VeloConnect");
        assert_eq!(r.reply_to.as_deref(), Some("ann@acme.test"));
        for part in [&r.html, &r.text] {
            assert!(part.contains("Supervisor"));
            assert!(part.contains("listen to live calls"));
            assert!(part.contains("Sales &#38; Support") || part.contains("Sales & Support"));
            assert!(
                part.contains(
                    "expires in 7 days, on Tuesday, 8 December 2026 at 10:05 CET (Europe/Berlin)"
                ),
                "{part}"
            );
            assert!(part.contains("ask Ann Lee to send you a new one"));
            assert!(part.contains("https://app.example.com/accept#token=abc.def"));
            assert!(part.contains("you can ignore this email"));
            assert!(!part.contains("New link"));
        }
        assert!(r
            .html
            .contains("href=\"https://app.example.com/accept#token=abc.def\""));
        assert!(r.html.len() < 20 * 1024, "{} bytes", r.html.len());
    }

    #[test]
    fn the_expiry_is_written_in_the_zone_given_and_in_utc_without() {
        let mut m = mail("Acme", "Ann Lee");
        m.time_zone = Some("America/New_York");
        assert!(render_invite(&m)
            .text
            .contains("on Tuesday, 8 December 2026 at 04:05 EST (America/New_York)"));
        m.time_zone = None;
        assert!(render_invite(&m)
            .text
            .contains("on Tuesday, 8 December 2026 at 09:05 UTC."));
        assert_eq!(time_zone("Europe/Berlin").as_deref(), Ok("Europe/Berlin"));
        for bad in ["", "Mars/Olympus", "Europe/Berlin\n", "../../etc/passwd"] {
            assert!(time_zone(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_resend_says_the_old_link_no_longer_works() {
        let mut m = mail("Acme", "Ann Lee");
        m.resent = true;
        let r = render_invite(&m);
        assert_eq!(
            r.subject,
            "New link: Ann Lee invited you to join Acme on VeloConnect"
        );
        for part in [&r.html, &r.text] {
            assert!(part.contains(
                "This is a new link. The link in any earlier invite email no longer works."
            ));
        }
    }

    #[test]
    fn without_a_person_it_comes_from_veloconnect_with_no_reply_to() {
        let mut m = mail("Acme", "x");
        m.inviter = None;
        let r = render_invite(&m);
        assert_eq!(r.subject, "You’re invited to join Acme on VeloConnect");
        assert_eq!(r.from_name, "VeloConnect");
        assert_eq!(r.reply_to, None);
        assert!(r.text.contains("ask VeloConnect support"));
    }

    #[test]
    fn the_role_sentences_are_the_consoles() {
        let console = include_str!("../../../web/public/assets/strings.js");
        for role in [Role::Agent, Role::Supervisor, Role::Admin] {
            let line = console
                .lines()
                .find(|l| {
                    l.trim_start()
                        .starts_with(&format!("{}: {{ label", role.as_str()))
                })
                .expect("the role's line in strings.js");
            assert!(line.contains((EN.role_can)(role)), "{role:?}: {line}");
        }
    }

    /// `HOSTILE` in `field` left the markup as `clean`'s, arrived escaped, and reached no
    /// header or line of its own.
    fn held_out(field: &str, r: &Rendered, clean: &Rendered) {
        assert_eq!(
            tags(&r.html),
            tags(&clean.html),
            "{field} changed the markup"
        );
        assert!(
            r.html.contains("&#60;img src=x onerror=alert(1)&#62;"),
            "{field}"
        );
        assert!(!r.subject.contains(['\r', '\n']), "{field}");
        assert!(!r.from_name.contains(['\r', '\n']), "{field}");
        assert!(!r.text.lines().any(|l| l.starts_with("Bcc:")), "{field}");
    }

    fn reset<'a>(company: &'a str, name: &'a str, by: Option<&'a str>) -> ResetMail<'a> {
        ResetMail {
            company,
            name,
            account: ann(),
            sent_by: by.map(|n| Inviter {
                name: n,
                email: ann(),
            }),
            expires_at: datetime!(2026-12-06 10:05 UTC),
            time_zone: Some("Europe/Berlin"),
            link: "https://app.example.com/reset#token=u1.def",
        }
    }

    #[test]
    fn a_reset_email_names_the_account_the_hour_and_the_link_in_both_parts() {
        let r = render_reset(&reset("Acme", "Jane", None));
        assert_eq!(r.subject, "Set a new VeloConnect password");
        assert_eq!(r.from_name, "VeloConnect");
        assert_eq!(r.reply_to, None);
        for part in [&r.html, &r.text] {
            assert!(part.contains("Hi Jane,"), "{part}");
            assert!(part.contains("ann@acme.test"));
            assert!(part.contains("your Acme account"));
            assert!(
                part.contains(
                    "expires in 1 hour, on Sunday, 6 December 2026 at 11:05 CET (Europe/Berlin)"
                ),
                "{part}"
            );
            assert!(part.contains("https://app.example.com/reset#token=u1.def"));
            assert!(part.contains("signs you out on every device"));
            assert!(part.contains("your password stays as it is"));
        }
        assert!(r
            .html
            .contains("href=\"https://app.example.com/reset#token=u1.def\""));
        // The same frame as the invite's.
        let invite = render_invite(&mail("Acme", "Ann Lee"));
        assert_eq!(tags(&r.html)[..12], tags(&invite.html)[..12]);
    }

    #[test]
    fn an_admins_reset_says_who_sent_it_and_replies_reach_them() {
        let r = render_reset(&reset("Acme", "Jane", Some("Demo Admin")));
        assert_eq!(
            r.subject,
            "Demo Admin sent you a link to set a new VeloConnect password"
        );
        assert_eq!(r.from_name, "Demo Admin via VeloConnect");
        assert_eq!(r.reply_to.as_deref(), Some("ann@acme.test"));
        assert!(r.text.contains(
            "Demo Admin asked VeloConnect to send you a link to set a new password for your Acme account."
        ));
        assert!(r.text.contains("ask Demo Admin"));
    }

    #[test]
    fn no_person_supplied_field_of_a_reset_can_inject_markup_or_headers() {
        let clean = render_reset(&reset("Acme", "Jane", Some("Ann")));
        for (field, m) in [
            ("company", reset(HOSTILE, "Jane", Some("Ann"))),
            ("name", reset("Acme", HOSTILE, Some("Ann"))),
            ("admin", reset("Acme", "Jane", Some(HOSTILE))),
        ] {
            held_out(field, &render_reset(&m), &clean);
        }
    }

    fn two_step<'a>(company: &'a str, name: &'a str, admin: &'a str) -> TwoStepResetMail<'a> {
        TwoStepResetMail {
            company,
            name,
            account: ann(),
            admin: Inviter {
                name: admin,
                email: ann(),
            },
            at: datetime!(2026-12-06 09:05 UTC),
            time_zone: Some("Europe/Berlin"),
            required: false,
            link: "https://app.example.com/",
        }
    }

    #[test]
    fn a_two_step_reset_notice_says_who_when_what_changed_and_what_to_do() {
        let r = render_two_step_reset(&two_step("Acme", "Jane", "Demo Admin"));
        assert_eq!(
            r.subject,
            "Demo Admin reset two-step verification on your VeloConnect account"
        );
        assert_eq!(r.from_name, "Demo Admin via VeloConnect");
        assert_eq!(r.reply_to.as_deref(), Some("ann@acme.test"));
        for part in [&r.html, &r.text] {
            assert!(part.contains("Hi Jane,"), "{part}");
            assert!(part.contains("ann@acme.test"));
            assert!(
                part.contains("Demo Admin turned off two-step verification for your Acme account on VeloConnect on Sunday, 6 December 2026 at 10:05 CET (Europe/Berlin), and signed you out on every device."),
                "{part}"
            );
            assert!(part.contains("set up two-step verification again from your profile"));
            assert!(part.contains("If you didn’t expect it, tell Demo Admin"));
            assert!(!part.contains("admin pages stay closed"), "not required");
        }
        assert!(r.html.contains("href=\"https://app.example.com/\""));
        // No token, no secret: the link is the sign-in page.
        assert!(!r.text.contains("#token="));
        let invite = render_invite(&mail("Acme", "Ann Lee"));
        assert_eq!(tags(&r.html)[..12], tags(&invite.html)[..12]);

        let required = render_two_step_reset(&TwoStepResetMail {
            required: true,
            ..two_step("Acme", "Jane", "Demo Admin")
        });
        for part in [&required.html, &required.text] {
            assert!(
                part.contains("Acme requires two-step verification for admins: until you set it up again, the admin pages stay closed to you."),
                "{part}"
            );
        }
    }

    #[test]
    fn no_person_supplied_field_of_a_two_step_notice_can_inject_markup_or_headers() {
        let clean = render_two_step_reset(&two_step("Acme", "Jane", "Ann"));
        for (field, m) in [
            ("company", two_step(HOSTILE, "Jane", "Ann")),
            ("name", two_step("Acme", HOSTILE, "Ann")),
            ("admin", two_step("Acme", "Jane", HOSTILE)),
        ] {
            held_out(field, &render_two_step_reset(&m), &clean);
        }
    }
}
