# Every target creates .venv on first use and installs the package into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SEED := seeds/000_2b75bc2e4ec607c4.txt
SHARED := ../shared/data

.PHONY: demo test train bench report-demo datacard clean

$(BIN)/escalation: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,report,dask]'
	touch $@

## Score the seed article with the shipped model: label, top score, sentence.
demo: $(BIN)/escalation
	$(BIN)/escalation score $(SEED) --output-format table

## Run the whole test suite.
test: $(BIN)/escalation
	$(BIN)/python -m pytest

## Rebuild the shipped model from data/corpus.csv (evaluated on the real dev set when present).
train: $(BIN)/escalation
	$(BIN)/escalation train --no-base data/corpus.csv -o model/default \
		$(if $(wildcard $(SHARED)/real_dev.csv),--eval $(SHARED)/real_dev.csv)

## Rewrite the counts in the data card from data/corpus.csv.
datacard: $(BIN)/escalation
	$(BIN)/python -m escalation_training.datacard data/corpus.csv data/README.md

## Speed, memory and accuracy benchmarks (see bench/README.md).
bench: $(BIN)/escalation
	$(BIN)/python bench/run_all.py

## Score the bundled synthetic crisis feed and build its report; prints the page's path.
report-demo: $(BIN)/escalation
	mkdir -p build/report-demo
	$(BIN)/escalation score data/demo/crisis_feed.jsonl -o build/report-demo/sentences.jsonl \
		--summary build/report-demo/articles.jsonl --jobs 1
	$(BIN)/escalation report build/report-demo/sentences.jsonl --summary build/report-demo/articles.jsonl \
		-o build/report-demo/report

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
