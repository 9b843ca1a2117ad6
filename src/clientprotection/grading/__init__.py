"""The instructor grading pipeline: a safe nbgrader course folder and the ``cpcourse`` commands.

``workshop`` creates the course folder and imports the roster, ``release`` builds the student
versions and scans them for leaks, ``collect`` brings submissions in from an LMS zip, a folder or
the nbgrader exchange, and ``autograde`` grades them in parallel, each kernel in a sandbox.
"""
