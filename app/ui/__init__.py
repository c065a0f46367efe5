"""The workbench's Streamlit panels, one role per module: the session (`session`), the sidebar
(`sidebar`), the open case (`case_page`), its code list (`code_list`), the selected code
(`code_panel`), the encoder (`add_code`) and the claim (`claim_panel`). Each reads its widgets,
calls `app.review` or `app.workbench`, and renders."""
