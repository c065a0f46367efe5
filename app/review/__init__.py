"""The review core of the workbench, with no Streamlit in it: the case store (`store`, over the SQLite
file of `database` and `schema`, with the coder's decisions in `decisions`), the records it keeps
(`records`), claim validation (`validation`), the claim checked against the code book (`claim`), its
exports (`exports`) and new notes from samples and uploads (`intake`). The Streamlit panels of
`app.ui` call it."""
