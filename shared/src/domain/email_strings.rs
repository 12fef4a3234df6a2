//! Every word of the invite email, in one place, ready for a second language: a locale is one
//! more `InviteStrings` value. The templates (`shared/templates/invite.*`) hold layout only.
//! The role sentences are the product guide's, the same the console shows
//! (`web/public/assets/strings.js`; a test holds the two equal).

use super::role::Role;

pub struct InviteStrings {
    /// `lang` attribute of the HTML part.
    pub lang: &'static str,
    pub product: &'static str,
    /// Subject and heading: (inviter, company).
    pub invited_by: fn(&str, &str) -> String,
    /// Subject and heading when no person invites (the tenant tool's first admin): (company).
    pub invited: fn(&str) -> String,
    /// Subject of a resend: (the first-send subject).
    pub resent_subject: fn(&str) -> String,
    pub resent_note: &'static str,
    /// The From display name: (inviter).
    pub from_name: fn(&str) -> String,
    pub greeting: fn(&str) -> String,
    pub your_role: &'static str,
    pub role_label: &'static str,
    pub team_label: &'static str,
    pub role_can: fn(Role) -> &'static str,
    pub button: &'static str,
    pub copy_link: &'static str,
    /// (days, when): "when" is a date, a time and the time zone, written for the reader.
    pub expires: fn(i64, &str) -> String,
    /// What to do once it expired: (inviter).
    pub expired_ask: fn(&str) -> String,
    pub expired_ask_nobody: &'static str,
    /// Why you got this: (inviter, inviter's address, company).
    pub why_by: fn(&str, &str, &str) -> String,
    pub why: fn(&str) -> String,
    pub ignore: &'static str,
    /// "at" between the date and the time of the expiry.
    pub at: &'static str,
}

pub static EN: InviteStrings = InviteStrings {
    lang: "en",
    product: "VeloConnect",
    invited_by: |inviter, company| format!("{inviter} invited you to join {company} on VeloConnect"),
    invited: |company| format!("You’re invited to join {company} on VeloConnect"),
    resent_subject: |subject| format!("New link: {subject}"),
    resent_note: "This is a new link. The link in any earlier invite email no longer works.",
    from_name: |inviter| format!("{inviter} via VeloConnect"),
    greeting: |invitee| format!("Hi {invitee},"),
    your_role: "Your role decides what you can see and do once you’re in:",
    role_label: "Role",
    team_label: "Team",
    role_can: |role| match role {
        Role::Agent => "Read and reply in the inbox, make and receive calls on their assigned numbers, add notes to contacts. Sees only their own assigned contacts and conversations.",
        Role::Supervisor => "Everything an agent can do, plus see their team’s contacts and conversations, listen to live calls, jump into calls if needed, and review team metrics.",
        Role::Admin => "Everything a supervisor can do, plus invite users, buy numbers, configure channels, manage billing, and read the audit log.",
    },
    button: "Set your password and join",
    copy_link: "Or copy this link into your browser:",
    expires: |days, when| {
        let span = if days == 1 { "1 day".to_string() } else { format!("{days} days") };
        format!("The link works once and expires in {span}, on {when}.")
    },
    expired_ask: |inviter| format!("If it has expired, ask {inviter} to send you a new one."),
    expired_ask_nobody: "If it has expired, ask VeloConnect support to send you a new one.",
    why_by: |inviter, address, company| {
        format!("You’re getting this email because {inviter} ({address}) invited you to {company} on VeloConnect. Replying reaches {inviter}.")
    },
    why: |company| format!("You’re getting this email because an account for {company} on VeloConnect was set up for you."),
    ignore: "If you weren’t expecting it, you can ignore this email: nothing is created until you set a password.",
    at: "at",
};

/// Every word of the password-reset email (`shared/templates/reset.*`), beside the invite's.
pub struct ResetStrings {
    pub lang: &'static str,
    pub product: &'static str,
    /// Subject when the user asked: no name in it, so it reads the same to anyone.
    pub subject: &'static str,
    /// Subject when an admin sent it: (admin).
    pub subject_by: fn(&str) -> String,
    pub heading: &'static str,
    pub greeting: fn(&str) -> String,
    /// The user asked: (company).
    pub intro: fn(&str) -> String,
    /// An admin sent it: (admin, company).
    pub intro_by: fn(&str, &str) -> String,
    pub account_label: &'static str,
    pub button: &'static str,
    pub copy_link: &'static str,
    /// (when): a date, a time and the time zone.
    pub expires: fn(&str) -> String,
    pub sessions_end: &'static str,
    /// The From display name when an admin sent it: (admin).
    pub from_name: fn(&str) -> String,
    pub why: fn(&str) -> String,
    pub ignore: &'static str,
    /// What to do if it was unexpected, when an admin sent it: (admin).
    pub ignore_by: fn(&str) -> String,
    pub at: &'static str,
}

pub static EN_RESET: ResetStrings = ResetStrings {
    lang: "en",
    product: "VeloConnect",
    subject: "Set a new VeloConnect password",
    subject_by: |admin| format!("{admin} sent you a link to set a new VeloConnect password"),
    heading: "Set a new password",
    greeting: |name| format!("Hi {name},"),
    intro: |company| {
        format!("Someone asked to reset the password of your {company} account on VeloConnect. If it was you, choose a new password with the button below.")
    },
    intro_by: |admin, company| {
        format!("{admin} asked VeloConnect to send you a link to set a new password for your {company} account.")
    },
    account_label: "Account",
    button: "Set a new password",
    copy_link: "Or copy this link into your browser:",
    expires: |when| {
        format!("The link works once and expires in 1 hour, on {when}. Each new link replaces the one before.")
    },
    sessions_end: "Setting a new password signs you out on every device.",
    from_name: |admin| format!("{admin} via VeloConnect"),
    why: |company| {
        format!("You’re getting this email because a new password was asked for your {company} account on VeloConnect.")
    },
    ignore: "If you didn’t ask for it, ignore this email: your password stays as it is.",
    ignore_by: |admin| {
        format!("If you didn’t expect it, ask {admin}, or ignore this email: your password stays as it is.")
    },
    at: "at",
};

/// Every word of the email telling a user an admin reset their two-step verification
/// (`shared/templates/two-step-reset.*`): a security notice, so it says who did it, when, what
/// changed and what to do if it was not expected.
pub struct TwoStepResetStrings {
    pub lang: &'static str,
    pub product: &'static str,
    /// (admin).
    pub subject: fn(&str) -> String,
    pub heading: &'static str,
    pub greeting: fn(&str) -> String,
    /// (admin, company, when).
    pub intro: fn(&str, &str, &str) -> String,
    pub account_label: &'static str,
    pub button: &'static str,
    pub copy_link: &'static str,
    pub next: &'static str,
    /// When the company requires it of the user's role: (company).
    pub required: fn(&str) -> String,
    pub from_name: fn(&str) -> String,
    /// (admin, company).
    pub why: fn(&str, &str) -> String,
    /// What to do if it was unexpected: (admin).
    pub unexpected: fn(&str) -> String,
    pub at: &'static str,
}

pub static EN_TWO_STEP_RESET: TwoStepResetStrings = TwoStepResetStrings {
    lang: "en",
    product: "VeloConnect",
    subject: |admin| format!("{admin} reset two-step verification on your VeloConnect account"),
    heading: "Two-step verification was reset",
    greeting: |name| format!("Hi {name},"),
    intro: |admin, company, when| {
        format!("{admin} turned off two-step verification for your {company} account on VeloConnect on {when}, and signed you out on every device. Admins do this when the phone with the authenticator app is lost or replaced.")
    },
    account_label: "Account",
    button: "Sign in",
    copy_link: "Or copy this link into your browser:",
    next: "Sign in with your password alone, then set up two-step verification again from your profile, with the authenticator app on your new phone.",
    required: |company| {
        format!("{company} requires two-step verification for admins: until you set it up again, the admin pages stay closed to you.")
    },
    from_name: |admin| format!("{admin} via VeloConnect"),
    why: |admin, company| {
        format!("You’re getting this email because {admin}, an admin of {company} on VeloConnect, changed how your account signs in. Replying reaches {admin}.")
    },
    unexpected: |admin| {
        format!("If you didn’t expect it, tell {admin} or your security team now, and set up two-step verification again as soon as you sign in.")
    },
    at: "at",
};
