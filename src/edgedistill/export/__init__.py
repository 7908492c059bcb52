"""Export stage: ONNX, CoreML, LiteRT and ExecuTorch files, parity checks, a model card."""

from edgedistill.export.formats import FORMATS, register_format
from edgedistill.export.stage import ExportReport, export_student

__all__ = ["FORMATS", "ExportReport", "export_student", "register_format"]
