"""Portal accounts: who may log in, as which role, for which department or branch.

Roles: ``department`` (one department's data staff: all of its uploads), ``branch_secretary``
(one branch of a department: only that branch's files and rejects) and ``steward``
(every upload's status and counts, the dashboard, accounts). Passwords are hashed with
argon2id (argon2-cffi); a login is refused after ``lockout_attempts`` consecutive wrong
passwords until ``lockout_minutes`` have passed, and a client address that tries too
often is refused whatever the account. Accounts are created and disabled by a steward
(``islandbridge portal add-account`` / ``disable-account``, or the accounts page).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from islandbridge.portal.settings import PortalSettings
from islandbridge.portal.store import PortalStore, accounts, login_attempts, now

__all__ = ["ROLES", "Account", "AccountError", "AccountService", "LoginRefused"]

log = logging.getLogger(__name__)

ROLES = ("department", "branch_secretary", "steward")
Role = Literal["department", "branch_secretary", "steward"]
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_SCOPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class AccountError(ValueError):
    """An account cannot be created or changed (the message says why)."""


class LoginRefused(Exception):
    """A login was refused; ``reason`` is ``wrong``, ``locked``, ``disabled`` or ``throttled``
    (the page shows one message for all but ``throttled``, so it reveals no account)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    username: str
    role: Role
    department: str | None
    branch: str | None
    disabled: bool

    @property
    def is_steward(self) -> bool:
        return self.role == "steward"

    def sees(self, department: str, branch: str | None) -> bool:
        """Whether this account may see an upload of ``department`` (and ``branch``)."""
        if self.is_steward:
            return True
        if department != self.department:
            return False
        return self.role == "department" or branch == self.branch

    def sees_rows(self, department: str, branch: str | None) -> bool:
        """Whether it may see the rejected rows themselves: the department's own people only
        (a steward sees counts and reasons, never a row)."""
        return not self.is_steward and self.sees(department, branch)


def _account(row: dict) -> Account:
    return Account(
        id=row["id"],
        username=row["username"],
        role=row["role"],
        department=row["department"],
        branch=row["branch"],
        disabled=bool(row["disabled"]),
    )


class AccountService:
    """Accounts in the portal's store, with the settings' lockout policy."""

    def __init__(self, store: PortalStore, settings: PortalSettings) -> None:
        self.store = store
        self.settings = settings
        # argon2id; the library's recommended parameters unless the settings lower them
        self._hasher = PasswordHasher(**settings.argon2)
        self._dummy = self._hasher.hash("not a password of anyone")

    def create(
        self,
        username: str,
        role: str,
        *,
        password: str | None,
        department: str | None = None,
        branch: str | None = None,
        created_by: str,
        departments: set[str] | None = None,
    ) -> Account:
        """A new account; ``password`` None for a single-sign-on-only account.
        ``departments``: the configured departments (a department must be one of them)."""
        if not _USERNAME.fullmatch(username):
            raise AccountError("user name: letters, digits and _.@- (at most 64)")
        if role not in ROLES:
            raise AccountError(f"role must be one of {list(ROLES)}")
        if role == "steward":
            department = branch = None
        else:
            if not department or not _SCOPE.fullmatch(department):
                raise AccountError("a department or branch account names its department")
            if departments is not None and department not in departments:
                raise AccountError(f"department {department!r} is not in the configuration")
            if role == "branch_secretary" and not (branch and _SCOPE.fullmatch(branch)):
                raise AccountError("a branch secretary's account names its branch")
            if role == "department":
                branch = None
        if password is not None and len(password) < self.settings.min_password_chars:
            raise AccountError(
                f"the password must have at least {self.settings.min_password_chars} characters"
            )
        if self.by_name(username) is not None:
            raise AccountError(f"an account {username!r} exists")
        result = self.store.run(
            accounts.insert().values(
                username=username,
                role=role,
                department=department,
                branch=branch,
                password_hash=self._hasher.hash(password) if password is not None else None,
                disabled=False,
                failed_logins=0,
                created_at=now(),
                created_by=created_by,
            )
        )
        log.info("portal account %s created (%s)", result.inserted_primary_key[0], role)
        account = self.get(int(result.inserted_primary_key[0]))
        assert account is not None
        return account

    def set_disabled(self, username: str, disabled: bool = True) -> Account:
        """Disable (or enable again) an account; its sessions end at once."""
        from islandbridge.portal.store import sessions

        account = self.by_name(username)
        if account is None:
            raise AccountError(f"no account {username!r}")
        self.store.run(
            accounts.update().where(accounts.c.id == account.id).values(disabled=disabled)
        )
        if disabled:
            self.store.run(sessions.delete().where(sessions.c.account_id == account.id))
        log.info("portal account %s %s", account.id, "disabled" if disabled else "enabled")
        return self.get(account.id)  # type: ignore[return-value]

    def set_password(self, username: str, password: str) -> None:
        if len(password) < self.settings.min_password_chars:
            raise AccountError(
                f"the password must have at least {self.settings.min_password_chars} characters"
            )
        account = self.by_name(username)
        if account is None:
            raise AccountError(f"no account {username!r}")
        self.store.run(
            accounts.update()
            .where(accounts.c.id == account.id)
            .values(password_hash=self._hasher.hash(password), failed_logins=0, locked_until=None)
        )

    def get(self, account_id: int) -> Account | None:
        row = self.store.one(sa.select(accounts).where(accounts.c.id == account_id))
        return _account(row) if row else None

    def by_name(self, username: str) -> Account | None:
        row = self.store.one(sa.select(accounts).where(accounts.c.username == username))
        return _account(row) if row else None

    def all(self) -> list[Account]:
        return [_account(r) for r in self.store.all(sa.select(accounts).order_by(accounts.c.id))]

    def _throttled(self, client: str) -> bool:
        since = now() - timedelta(minutes=self.settings.ip_window_minutes)
        rows = self.store.all(
            sa.select(sa.func.count())
            .select_from(login_attempts)
            .where(login_attempts.c.client == client, login_attempts.c.at >= since)
        )
        return int(next(iter(rows[0].values()))) >= self.settings.ip_attempts

    def authenticate(self, username: str, password: str, client: str) -> Account:
        """The account for ``username`` and ``password``; raises :class:`LoginRefused`.

        Every attempt is recorded per client address; a wrong password counts against the
        account and locks it after ``lockout_attempts`` in a row. An unknown user name costs
        the same hash as a known one.
        """
        if self._throttled(client):
            log.warning("portal login refused: too many attempts from one client")
            raise LoginRefused("throttled")
        self.store.run(login_attempts.insert().values(client=client[:64], at=now(), ok=False))
        row = self.store.one(sa.select(accounts).where(accounts.c.username == username))
        stored = row["password_hash"] if row else None
        try:
            self._hasher.verify(stored or self._dummy, password)
            matches = stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            matches = False
        if row is None:
            raise LoginRefused("wrong")
        locked = row["locked_until"]
        if locked is not None and locked > now():
            log.warning("portal login refused: account %s is locked", row["id"])
            raise LoginRefused("locked")
        if not matches:
            failed = int(row["failed_logins"] or 0) + 1
            values: dict = {"failed_logins": failed}
            if failed >= self.settings.lockout_attempts:
                values = {
                    "failed_logins": 0,
                    "locked_until": now() + timedelta(minutes=self.settings.lockout_minutes),
                }
                log.warning("portal account %s locked after %d wrong passwords", row["id"], failed)
            self.store.run(accounts.update().where(accounts.c.id == row["id"]).values(**values))
            raise LoginRefused("wrong")
        if row["disabled"]:
            raise LoginRefused("disabled")
        self.store.run(
            accounts.update()
            .where(accounts.c.id == row["id"])
            .values(failed_logins=0, locked_until=None)
        )
        if self._hasher.check_needs_rehash(stored):
            self.store.run(
                accounts.update()
                .where(accounts.c.id == row["id"])
                .values(password_hash=self._hasher.hash(password))
            )
        log.info("portal login: account %s", row["id"])
        return _account(row)

    def single_sign_on(self, username: str) -> Account | None:
        """The enabled account a trusted proxy vouches for (None: no such account)."""
        account = self.by_name(username)
        if account is None or account.disabled:
            log.warning("portal single sign-on: no enabled account for the proxy's user")
            return None
        return account
