"""Account policy, pure: two-factor sign-in (TOTP), guests and the internal-only network,
staff email domains.

- ``AccountPolicy``: what an admin sets (``require_2fa``, ``internal_only``,
  ``staff_email_domains``, ``name_format``: how staff names look to others, see
  ``domain.names``), validated by ``AccountPolicy.validated``.
- ``two_factor_required(policy, role)``: whether someone of ``role`` must sign in with a code.
- ``check_email(policy, role, email)``: a staff account's email must be in the company's
  domains when the policy names any (guests come from outside by definition).
- ``matching_step(secret, code, now, last_step)``: the TOTP time step a code belongs to (this
  one, or one either side for clock drift), refused when that step was already used: a code
  works once.

Nothing here does I/O; ``now`` is an argument. pyotp only computes codes.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import pyotp

from parley.domain.access import StaffRole, rank
from parley.domain.errors import InvalidInput
from parley.domain.names import NameFormat

#: A TOTP time step, as authenticator apps use (RFC 6238 defaults: 30 s, 6 digits, SHA-1).
TOTP_STEP_SECS = 30
TOTP_DIGITS = 6
#: Steps accepted either side of now, for a phone's clock a little off.
TOTP_DRIFT_STEPS = 1
#: The issuer shown in authenticator apps.
TOTP_ISSUER = "Parley"
#: Recovery codes made at enrolment (each works once).
RECOVERY_CODES = 10
MAX_DOMAINS = 50
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_CODE = re.compile(r"^[0-9]{6}$")


class TwoFactorPolicy(StrEnum):
    NONE = "none"
    SUPERVISORS_AND_ADMINS = "supervisors_and_admins"
    EVERYONE = "everyone"


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    require_2fa: TwoFactorPolicy = TwoFactorPolicy.NONE
    #: Guests switched off: none invited, none signs in, those there are removed.
    internal_only: bool = False
    #: Staff accounts' email must be at one of these (empty: any).
    staff_email_domains: tuple[str, ...] = ()
    #: How every staff member's name is shown to others (``names.shown_name``).
    name_format: NameFormat = NameFormat.AS_ENTERED

    def validated(self) -> AccountPolicy:
        if len(self.staff_email_domains) > MAX_DOMAINS:
            raise InvalidInput(f"at most {MAX_DOMAINS} email domains")
        domains = []
        for raw in self.staff_email_domains:
            domain = raw.strip().lower().lstrip("@")
            if not _DOMAIN.fullmatch(domain):
                raise InvalidInput(f"{raw[:64]!r} is not a domain name (like example.com)")
            if domain not in domains:
                domains.append(domain)
        return AccountPolicy(
            TwoFactorPolicy(self.require_2fa),
            self.internal_only,
            tuple(sorted(domains)),
            NameFormat(self.name_format),
        )

    def plain(self) -> dict[str, object]:
        return {
            "require_2fa": self.require_2fa.value,
            "internal_only": self.internal_only,
            "staff_email_domains": list(self.staff_email_domains),
            "name_format": self.name_format.value,
        }


def two_factor_required(policy: AccountPolicy, role: StaffRole) -> bool:
    if policy.require_2fa is TwoFactorPolicy.EVERYONE:
        return True
    if policy.require_2fa is TwoFactorPolicy.SUPERVISORS_AND_ADMINS:
        return rank(role) >= rank(StaffRole.SUPERVISOR)
    return False


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def check_email(policy: AccountPolicy, role: StaffRole, email: str | None) -> None:
    """A staff account's email, against the company's domains (``EmailDomainRefused``)."""
    if role is StaffRole.GUEST or not policy.staff_email_domains:
        return
    if email is None or email_domain(email) not in policy.staff_email_domains:
        raise EmailDomainRefused(
            "a staff account needs an email at "
            + ", ".join(policy.staff_email_domains)
            + " (the company's domains)"
        )


class EmailDomainRefused(InvalidInput):
    code = "email_domain_refused"


# TOTP ------------------------------------------------------------------------------------------


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (as a QR code, or pasted)."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECS).provisioning_uri(
        name=account, issuer_name=TOTP_ISSUER
    )


def step_at(now: datetime) -> int:
    return int(now.timestamp()) // TOTP_STEP_SECS


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` is right for (now, or ``TOTP_DRIFT_STEPS`` either side), if it
    is later than ``last_step`` (the last one used): None for a wrong code and for one used
    before, alike. Comparisons take constant time."""
    code = code.strip().replace(" ", "")
    if not _CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECS)
    current = step_at(now)
    found = None
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        expected = totp.generate_otp(step)
        if hmac.compare_digest(expected, code) and (last_step is None or step > last_step):
            found = step
    return found
