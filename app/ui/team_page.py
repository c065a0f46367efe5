"""The team view, for auditors and admins: per coder and per day, the cases worked, the codes
accepted, rejected, changed and added, the acceptance rate of the agent's suggestions and the
minutes per case, from the audit trail; downloadable as CSV."""

from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from app.review.store import CaseStore
from app.review.team import team_csv, team_rows

TEAM_ROLES = ("auditor", "admin")


def team_page(store: CaseStore) -> None:
    st.markdown("### Team")
    rows = team_rows(store.all_audit())
    if not rows:
        st.info("No work recorded yet.")
        return
    st.dataframe([asdict(r) for r in rows], hide_index=True, key="team_table")
    st.caption(
        "Acceptance: accepted / (accepted + rejected + changed) of that coder's decisions. "
        "Minutes per case: the median time from a coder's first to last action on a case that day."
    )
    st.download_button("Download CSV", team_csv(rows), file_name="team.csv", mime="text/csv", key="team_csv")
