"""The accounts page, for admins only: the accounts with their roles and states, a form to add
one, and disable or enable. The page checks the role itself, whatever the session asks for."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from app.review.accounts import ROLES, Account, Accounts
from app.ui.session import act
from app.workbench import md_escape

ADMIN = "admin"


def accounts_page(accounts: Accounts, account: Account) -> None:
    if account.role != ADMIN:  # never reached from the page for others; refused if asked anyway
        st.error("Only an admin manages accounts.", icon=":material/block:")
        return
    st.markdown("### Accounts")
    listed = accounts.list()
    st.dataframe(
        [
            {
                "user": a.username,
                "name": a.display_name,
                "role": a.role,
                "state": a.state(datetime.now(UTC)),
                "since": a.created_at[:10],
            }
            for a in listed
        ],
        hide_index=True,
        key="accounts_table",
    )
    with st.form("add_account", clear_on_submit=True, width=480):
        st.markdown("#### Add an account")
        username = st.text_input("User name", key="new_user")
        name = st.text_input("Full name", key="new_name")
        role = st.selectbox("Role", ROLES, key="new_role")
        password = st.text_input("First password (give it to them in person)", type="password", key="new_password")
        if st.form_submit_button("Add the account", type="primary"):
            act(lambda: accounts.add(username, password, role, name), f"Added {username.strip().lower()} ({role})")
            st.rerun()
    others = [a.username for a in listed if a.username != account.username]
    if others:
        with st.container(horizontal=True, vertical_alignment="bottom"):
            who = st.selectbox("Account", others, key="toggle_user")
            target = next(a for a in listed if a.username == who)
            label = "Enable" if target.disabled else "Disable"
            if st.button(label, key="toggle_account"):
                act(lambda: accounts.set_disabled(who, not target.disabled), f"{label}d {md_escape(who)}")
                st.rerun()
