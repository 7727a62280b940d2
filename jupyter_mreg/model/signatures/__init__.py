"""The code behind `jupyter_mreg.model.model_signature`, one job per module; import from that module, not here.

- `types`: DataType and how numpy / pandas dtypes and Python values map to it.
- `coerce`: a param value turned into its declared type and shape.
- `specs`: FeatureSpec, FeatureGroupSpec, ParamSpec, ModelSignature; dict round-trip, repr and HTML.
- `frames`: any supported data (numpy, lists, dicts, Series...) as a pandas DataFrame.
- `infer`: specs and signatures inferred from sample data.
- `sample`: each method called on the first rows of `sample_input_data`, its input and output giving its signature.
- `column_checks`: whether one column fits one feature, and the conversion it needs.
- `validate`: a call's input data and params checked against a signature.
- `output`: a method's raw result as a DataFrame named by the signature's outputs.
- `messages`: the listing of names in error messages, and warnings that point at the caller's line.
"""
