# nbgrader configuration of a client-protection workshop, written by `cpcourse workshop init`.
# This folder is a standard nbgrader course: plain `nbgrader` commands and the formgrader read
# this file. `cpcourse grade` reads it too and adds the limits of the GradingLimits section.
c = get_config()  # noqa: F821

c.CourseDirectory.course_id = "$course_id"

# Restore deleted grade and locked cells, and overwrite edited ones with the source version.
c.OverwriteCells.add_missing_cells = True

# Only students imported from the roster are graded; unknown folders are rejected.
c.Autograde.create_student = False

# Per-cell time limit in seconds (nbgrader). The whole-notebook limit is GradingLimits below.
c.Execute.timeout = $cell_timeout
c.Execute.interrupt_on_timeout = True
c.Execute.execute_retries = 0

# Output limits kept in the autograded notebooks and in the feedback.
c.LimitOutput.max_lines = $max_output_lines
c.LimitOutput.max_traceback = 100

# Hidden tests are stripped from the release; enforce the cell metadata check while doing so.
c.ClearHiddenTests.enforce_metadata = True

# Feedback: nbgrader's own `generate_feedback` (and the formgrader's feedback button) would copy
# the hidden tests into the HTML. These strip hidden tests from the page, also from tracebacks,
# and refuse to write a page that still quotes one (the same code as `cpcourse feedback`).
c.GenerateFeedback.preprocessors = [
    "clientprotection.grading.feedback.WorkshopHiddenTestFilter",
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.GenerateFeedback.exporter_class = "clientprotection.grading.feedback.LeakCheckedHTMLExporter"

# Limits applied by `cpcourse grade` to the kernels that run student code (ignored by nbgrader).
c.GradingLimits.notebook_timeout = $notebook_timeout   # seconds for the whole notebook
c.GradingLimits.memory_mb = $memory_mb                 # address space of the kernel (RLIMIT_AS)
c.GradingLimits.max_processes = $max_processes         # processes and threads (RLIMIT_NPROC)
c.GradingLimits.max_file_size_mb = $max_file_size_mb   # largest file the kernel may write
c.GradingLimits.sandbox_user = "$sandbox_user"         # used when grading runs as root
