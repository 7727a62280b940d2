"""The package format on disk: a folder holding `MANIFEST.yml` and everything needed to rebuild a model.

- `package`: `save_package` / `load_package`, the folder's layout.
- `manifest`: `MANIFEST.yml` as the typed, versioned `Manifest`, written and read in one place.
- `json_values`: Python values as the plain YAML/JSON types a manifest holds.
- `methods`: the methods a package exposes and their manifest entries.
- `options`: the log options, checked, and what the manifest records of them.
- `files`: the user's `code_paths` and `user_files` copied in, and code folders put on `sys.path` at load.
- `pickling`: cloudpickle's pickle-by-value registration for one block of code.
- `devices`: `load(options=...)` checked, and the device a model loads on.

Import from the module that owns a name; this file imports nothing, so a handler importing `pickling`
does not load the rest.
"""
