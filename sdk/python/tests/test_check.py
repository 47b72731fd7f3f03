"""``python3 -m botyard.check``."""

from botyard.check import check


def test_a_syntax_error_names_the_line(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("def tick(ctx):\n    pass\n\ndef x(:\n")
    problem = check(str(script))
    assert problem["type"] == "SyntaxError" and problem["line"] == 4


def test_a_script_needs_a_top_level_tick(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("class A:\n    def tick(self, ctx):\n        pass\n")
    assert "tick" in check(str(script))["message"]


def test_a_good_script_passes(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("def tick(ctx):\n    pass\n")
    assert check(str(script)) is None


def test_an_event_worker_passes_and_a_class_named_worker_alone_does_not(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("from botyard import Worker\n\nworker = Worker(name='w')\n")
    assert check(str(script)) is None
    script.write_text("class Worker:\n    pass\n")
    assert "no botyard.Worker" in check(str(script))["message"]
