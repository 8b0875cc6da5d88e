"""The congress document set: Party-format .docx (and PDF) drafts filled with a unit's facts.

layout.py lays a document out (the one place that knows Hướng dẫn 36-HD/VPTW); templates.py
reads the reviewable text templates in documents/; context.py gathers a unit's facts by name;
generate.py puts them together; operations.py issues numbers and stores uploaded templates.
"""
