"""pycov's bootstrap, first on PYTHONPATH in every process of a measured run.

It starts the tracer, hides itself from sys.path so the program sees the path it would see
unmeasured, then runs the sitecustomize module that this one shadows, if there is one.
Any interpreter that inherits the environment imports this file, so it stays valid syntax
for old Pythons and starts the tracer only on the version it was built for.

A Python started with -I, -E or -S never imports it as sitecustomize: pycov's isolated
start-up (isolated_start.cc) loads it under another name and calls _pycov_start_tracer alone.
"""

TRACER_PYTHON = (3, 11)


def _pycov_start_tracer(here):
    import os
    import sys

    run_dir = os.environ.get("PYCOV_RUN_DIR")
    if run_dir and tuple(sys.version_info[:2]) != TRACER_PYTHON:
        sys.stderr.write("pycov: warning: pid %d is not measured: Python %d.%d (pycov's tracer is built for %d.%d)\n"
                         % ((os.getpid(),) + tuple(sys.version_info[:2]) + TRACER_PYTHON))
        run_dir = None
    if run_dir:
        try:
            import _pycov_tracer

            stdlib = os.path.dirname(os.__file__)
            _pycov_tracer.start(run_dir, [stdlib], [here], list(sys.argv))
        except Exception as error:  # the program must run even if measurement cannot
            sys.stderr.write("pycov: warning: pid %d is not measured: %s\n" % (os.getpid(), error))


def _pycov_bootstrap():
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    _pycov_start_tracer(here)

    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    main_module = os.environ.pop("PYCOV_MAIN_MODULE", None)  # for this process only
    if sys.version_info[0] < 3:
        return

    # The import system's own frozen modules, already loaded: importlib.util would cost
    # several milliseconds of imports in every process.
    import _frozen_importlib
    import _frozen_importlib_external

    if main_module and os.environ.get("PYCOV_RUN_DIR"):
        # pycov run -m: whether the module exists, as `-m` will look for it (the current
        # directory first on sys.path, unless -P), before anything of the program runs.
        saved_path = sys.path[:]
        if not getattr(sys.flags, "safe_path", False):
            sys.path.insert(0, os.getcwd())
        try:
            found = main_module in sys.modules or _frozen_importlib._find_spec(main_module, None) is not None
        except Exception:
            found = True  # the program's own start says what is wrong
        sys.path[:] = saved_path
        if not found:
            open(os.path.join(os.environ["PYCOV_RUN_DIR"], "missing-main-module"), "w").close()
            os._exit(1)

    spec = _frozen_importlib_external.PathFinder.find_spec("sitecustomize", sys.path)
    if spec is not None and spec.loader is not None:
        module = _frozen_importlib.module_from_spec(spec)
        sys.modules["sitecustomize"] = module
        spec.loader.exec_module(module)


if __name__ == "sitecustomize":
    _pycov_bootstrap()
    del _pycov_bootstrap
