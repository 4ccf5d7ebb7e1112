"""Partitions of the Dask engine, without Dask: JSON Lines blocks read back exactly the
records of the whole file, with their true line numbers."""

import pytest

from escalation.batch import Settings
from escalation.partitions import Partition, count_newlines, plan, read_partition
from escalation.readers import read_jsonl

LINES = [
    b'{"id": "a", "text": "Talks resumed in Geneva."}\n',
    b"\n",
    b"not json\n",
    b'{"text": "Troops moved."}\r\n',  # no id: the id is path:line
    b'{"id": "b", "text": "bad \xff bytes"}\n',
    b"[1, 2]\n",
    b'{"id": "c", "text": "Sirens sounded.", "date": "2022-01-01"}\n',
]
LAST = b'{"id": "d", "text": "Jets struck."}'  # no final newline


@pytest.mark.parametrize("blocksize", [1, 7, 40, 100, 10_000])
def test_jsonl_blocks_read_back_the_whole_file(tmp_path, blocksize):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"".join(LINES * 5) + LAST)
    settings = Settings([str(path)])
    blocks = plan(settings, blocksize=blocksize)
    assert blocks[0].start == 0 and blocks[-1].end == path.stat().st_size
    assert all(a.end == b.start for a, b in zip(blocks, blocks[1:]))
    if blocksize == 1:
        assert len(blocks) == len(LINES) * 5 + 1
    records = [r for block in blocks for r in read_partition(block, settings)]
    assert records == list(read_jsonl(str(path)))


def test_line_numbers_can_be_counted_elsewhere(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"".join(LINES * 3))
    asked = []

    def count_lines(ranges):
        asked.extend(ranges)
        return [count_newlines(*r) for r in ranges]

    blocks = plan(Settings([str(path)]), blocksize=50, count_lines=count_lines)
    assert asked == [(str(path), b.start, b.end) for b in blocks[:-1]]  # never the last block
    assert [b.first_line for b in blocks] == [1 + path.read_bytes()[: b.start].count(b"\n") for b in blocks]


def test_other_inputs_are_whole_files_and_empty_files_one_empty_block(tmp_path):
    (tmp_path / "a.csv").write_text("id,text\n1,Talks resumed.\n")
    (tmp_path / "e.jsonl").write_bytes(b"")
    blocks = plan(Settings([str(tmp_path / "a.csv"), str(tmp_path / "e.jsonl")]))
    assert blocks == [Partition("csv", str(tmp_path / "a.csv"), 0, 25), Partition("jsonl", str(tmp_path / "e.jsonl"))]
    assert list(read_partition(blocks[1], Settings([]))) == []
