# «Мектепке жол» report pipeline. `make` alone lists the commands.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATE ?= 2017-08-17
INBOX ?= inbox
OUTBOX ?= outbox
DEMO_INBOX := build/demo-inbox
# A seed whose schedule has, on 17 August, one unit missing and one late: the demo shows both.
DEMO_SEED := 2014
DATES := 2017-08-08 2017-08-17 2017-08-26 2017-09-07 2017-09-18 2017-09-28

.DEFAULT_GOAL := help
.PHONY: help env demo report pdf history restore forms check samples test codes bench clean serve fetch remind send

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'
	@echo "  variables: DATE=YYYY-MM-DD (default $(DATE)), INBOX=dir (default inbox), OUTBOX=dir (default outbox)"
	@echo "  check:     FILE=\"inbox/Теректі 17.08.xlsx\" (one file, spaces allowed) or DIR=inbox (every file in it)"
	@echo "  mail:      fetch/remind/send write .eml drafts; SEND=1 sends them (mail.toml [smtp]), AGAIN=1 resends"
	@echo "  report/pdf/check exit 0 when the report was written or the files checked; scripts wanting the"
	@echo "  CLI's own codes (1 = some file has errors) call python -m pipeline directly (see README)"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

env: $(VENV)/.installed ## build the virtualenv with pinned packages (done by every target that needs it)

demo: $(VENV)/.installed ## sample submissions into build/demo-inbox, then the report for every reporting date
	rm -rf $(DEMO_INBOX)
	$(PY) -m pipeline samples --out $(DEMO_INBOX) --seed $(DEMO_SEED) --messy $(DATE)
	@for d in $(DATES); do $(PY) -m pipeline report --date $$d --inbox $(DEMO_INBOX) --outbox $(OUTBOX) || [ $$? -eq 1 ]; done
	@echo "Демо: $(OUTBOX)/$(DATE)/"

# The CLI's 1 means "written, but some file has errors (see issues.csv)": for a person running make that is
# success, and make would turn it into «Error 1» (exit 2); every other code is a real failure. Variables
# given on make's command line reach the recipe's environment, so "$${X}" keeps spaces in names intact.
report: $(VENV)/.installed ## the report for DATE from INBOX into OUTBOX/DATE/ (add FORCE=1 for --force)
	@$(PY) -m pipeline report --date "$${DATE:-$(DATE)}" --inbox "$${INBOX:-$(INBOX)}" --outbox "$${OUTBOX:-$(OUTBOX)}" $(if $(FORCE),--force) || { rc=$$?; [ $$rc -eq 1 ] || exit $$rc; }

pdf: $(VENV)/.installed ## the report for DATE, plus a PDF copy (needs LibreOffice)
	@$(PY) -m pipeline report --date "$${DATE:-$(DATE)}" --inbox "$${INBOX:-$(INBOX)}" --outbox "$${OUTBOX:-$(OUTBOX)}" --pdf $(if $(FORCE),--force) || { rc=$$?; [ $$rc -eq 1 ] || exit $$rc; }

history: $(VENV)/.installed ## the kept versions of the report for DATE
	@$(PY) -m pipeline history --date "$${DATE:-$(DATE)}" --outbox "$${OUTBOX:-$(OUTBOX)}"

restore: $(VENV)/.installed ## make version V of the report for DATE current again (V=3)
	@$(PY) -m pipeline restore --date "$${DATE:-$(DATE)}" --version "$(V)" --outbox "$${OUTBOX:-$(OUTBOX)}"

forms: $(VENV)/.installed ## blank district forms into OUTBOX/forms/
	$(PY) -m pipeline forms --out $(OUTBOX)/forms

check: $(VENV)/.installed ## validate FILE="inbox/Теректі 17.08.xlsx" or DIR=inbox without writing a report
	@if [ -n "$${FILE}" ]; then set -- "$${FILE}"; elif [ -n "$${DIR}" ]; then set -- "$${DIR}"; \
	else set -- $(FILES); fi; \
	if [ $$# -eq 0 ]; then echo 'make check FILE="inbox/Теректі 17.08.xlsx"  |  make check DIR=inbox' >&2; exit 2; fi; \
	$(PY) -m pipeline check "$$@" || { rc=$$?; [ $$rc -eq 1 ] || exit $$rc; }

test: $(VENV)/.installed ## run the test suite
	$(PY) -m pytest -q

codes: $(VENV)/.installed ## regenerate docs/problem-codes.md from the catalogue
	$(PY) -m pipeline codes --out docs/problem-codes.md

bench: $(VENV)/.installed ## benchmark: 13, 1,000 and 10,000 submissions against a bare calamine read
	$(PY) -m pipeline bench --files 13 --files 1000 --files 10000 --portal-clients 13 --mail-messages 500

serve: $(VENV)/.installed ## the district portal on 127.0.0.1:8017 (HOST=…, PORT=…); links: python -m pipeline links
	$(PY) -m pipeline serve --host $(or $(HOST),127.0.0.1) --port $(or $(PORT),8017) --inbox $(INBOX) --outbox $(OUTBOX)

# Mail (README «Mail»): drafts under OUTBOX/DATE/mail/ unless SEND=1 (and [smtp] in mail.toml); the CLI's 1
# ("done, but some file or message has errors") is success for make, as for report.
MAIL_FLAGS = $(if $(SEND),--send) $(if $(AGAIN),--again) $(if $(MAIL),--mail-settings "$(MAIL)")

fetch: $(VENV)/.installed ## fetch the mailbox: forms into INBOX/mail/, each sender answered (SEND=1 to send)
	@$(PY) -m pipeline mail fetch --reply $(MAIL_FLAGS) --inbox "$${INBOX:-$(INBOX)}" --outbox "$${OUTBOX:-$(OUTBOX)}" || { rc=$$?; [ $$rc -eq 1 ] || exit $$rc; }

remind: $(VENV)/.installed ## reminders (before the deadline) or lateness notices (after it) for DATE (SEND=1, TODAY=…)
	@$(PY) -m pipeline remind --date "$${DATE:-$(DATE)}" $(if $(TODAY),--today "$(TODAY)") $(MAIL_FLAGS) --inbox "$${INBOX:-$(INBOX)}" --outbox "$${OUTBOX:-$(OUTBOX)}" || { rc=$$?; [ $$rc -eq 1 ] || exit $$rc; }

send: $(VENV)/.installed ## the report of DATE to leadership, feedback to the districts (SEND=1 to send, AGAIN=1)
	@$(PY) -m pipeline mail send --date "$${DATE:-$(DATE)}" $(MAIL_FLAGS) --inbox "$${INBOX:-$(INBOX)}" --outbox "$${OUTBOX:-$(OUTBOX)}" || { rc=$$?; [ $$rc -eq 1 ] || exit $$rc; }

clean: ## remove the virtualenv, build/ and generated outputs, kept versions included (never inbox/)
	rm -rf $(VENV) build outbox/.runs outbox/.history outbox/.cache outbox/.lock outbox/.logs outbox/20* outbox/forms
