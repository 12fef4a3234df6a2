//! The invite email, rendered without any AWS type. Everything a user typed (names, company)
//! is HTML-escaped in the HTML part and stripped of line breaks in the subject, so neither
//! markup nor header injection can ride in on a display name.

use super::role::Role;
use time::OffsetDateTime;

pub struct InviteMail<'a> {
    pub company: &'a str,
    pub inviter: &'a str,
    pub invitee: &'a str,
    pub role: Role,
    pub team: Option<&'a str>,
    pub expires_at: OffsetDateTime,
    /// `{APP_URL}/accept#token=<token>`; the token rides in the fragment so it never reaches
    /// a server log or a Referer header.
    pub link: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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

fn expiry_text(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{} {} {}, {:02}:{:02} UTC",
        t.day(),
        t.month(),
        t.year(),
        t.hour(),
        t.minute()
    )
}

pub fn render_invite(m: &InviteMail<'_>) -> Rendered {
    let subject = header_safe(
        &format!(
            "{} invited you to join {} on VeloConnect",
            m.inviter, m.company
        ),
        200,
    );
    let expires = expiry_text(m.expires_at);
    let team_line = m
        .team
        .map(|t| format!(" on the {t} team"))
        .unwrap_or_default();
    let text = format!(
        "Hi {invitee},\n\n{inviter} invited you to join {company} on VeloConnect as {role}{team_line}.\n\n\
         Set your password to get started:\n{link}\n\n\
         This link works once and expires on {expires}. If it has expired, ask {inviter} to resend it.\n\n\
         If you weren't expecting this, you can ignore this email.\n",
        invitee = m.invitee,
        inviter = m.inviter,
        company = m.company,
        role = m.role.label(),
        link = m.link,
    );
    let e = escape_html;
    let team_html = m
        .team
        .map(|t| format!(" on the <strong>{}</strong> team", e(t)))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html>\n<html><body style=\"font-family:sans-serif\">\
         <p>Hi {invitee},</p>\
         <p>{inviter} invited you to join <strong>{company}</strong> on VeloConnect as <strong>{role}</strong>{team_html}.</p>\
         <p><a href=\"{link}\">Set your password</a></p>\
         <p>Or paste this link into your browser:<br>{link}</p>\
         <p>This link works once and expires on {expires}. If it has expired, ask {inviter} to resend it.</p>\
         <p>If you weren't expecting this, you can ignore this email.</p>\
         </body></html>\n",
        invitee = e(m.invitee),
        inviter = e(m.inviter),
        company = e(m.company),
        role = e(m.role.label()),
        link = e(m.link),
        expires = e(&expires),
    );
    Rendered {
        subject,
        html,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn mail<'a>(company: &'a str, inviter: &'a str) -> InviteMail<'a> {
        InviteMail {
            company,
            inviter,
            invitee: "Jane <Doe>",
            role: Role::Supervisor,
            team: Some("Sales & Support"),
            expires_at: datetime!(2026-11-30 09:05 UTC),
            link: "https://app.example.com/accept#token=abc.def",
        }
    }

    #[test]
    fn names_cannot_inject_html() {
        let r = render_invite(&mail("<script>alert(1)</script>", "Eve \"<img src=x>\""));
        assert!(!r.html.contains("<script>"));
        assert!(!r.html.contains("<img"));
        assert!(r.html.contains("&lt;script&gt;"));
        assert!(r.html.contains("Eve &quot;&lt;img src=x&gt;&quot;"));
        assert!(r.html.contains("Sales &amp; Support"));
        assert!(r.html.contains("Jane &lt;Doe&gt;"));
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
    fn both_parts_carry_the_role_the_expiry_and_the_link() {
        let r = render_invite(&mail("Acme", "Ann"));
        for part in [&r.html, &r.text] {
            assert!(part.contains("Supervisor"));
            assert!(part.contains("30 November 2026, 09:05 UTC"));
            assert!(part.contains("https://app.example.com/accept#token=abc.def"));
        }
    }
}
