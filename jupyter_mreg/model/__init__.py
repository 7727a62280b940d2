from jupyter_mreg.model.code_path import CodePath

__all__ = ["CodePath"]
