"""The review core of the workbench, with no Streamlit in it: the case store (`store`), the records
it keeps (`records`), claim validation (`validation`), the claim's exports (`exports`) and new
notes from samples and uploads (`intake`). The Streamlit panels of `app.ui` call it."""
