# «Мектепке жол» report pipeline. `make` alone lists the commands.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INBOX ?= inbox
# The campaign: PLAN=path (any target), else the environment's MZ_PLAN, else the bundled plan. Its dates,
# DATE's default (the second reporting date) and its own outbox (outbox-<plan file name> for a PLAN given
# here: one outbox holds one campaign) come from it, not from this file.
ifneq ($(strip $(PLAN)),)
export MZ_PLAN := $(PLAN)
OUTBOX ?= outbox-$(basename $(notdir $(PLAN)))
endif
OUTBOX ?= outbox
# The demo has its own inbox and outbox: trying it never leaves reports in the real outbox/ (whose published
# report a first real run would then refuse to replace) nor sample files in the real inbox/.
DEMO = build/demo$(if $(strip $(PLAN)),-$(basename $(notdir $(PLAN))))
DEMO_INBOX = $(DEMO)/inbox
DEMO_OUTBOX = $(DEMO)/outbox
# A seed whose schedule has, on the demo date, one unit missing and one late: the demo shows both.
DEMO_SEED := 2014
# Shell prefix of the recipes that need a date: d = DATE, else the plan's default date (`plan dates
# --default`; a plan with a mistake stops here with its messages and exit 2).
PLAN_DATE = d="$${DATE:-}"; [ -n "$$d" ] || d="$$($(PY) -m pipeline plan dates --default)" || exit $$?;
# HOST and PORT only from make's command line: a login shell may export HOST (the machine's name), and the
# portal must not listen beyond this computer unless asked to.
SERVE_HOST = $(if $(filter command line,$(origin HOST)),$(HOST),127.0.0.1)
SERVE_PORT = $(if $(filter command line,$(origin PORT)),$(PORT),8017)

.DEFAULT_GOAL := help
.PHONY: help env demo report pdf history restore status links forms check samples test codes bench clean serve plan-check fetch remind send export bench-compare

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'
	@echo "  variables: PLAN=plan.yaml (any target; default the bundled plan, or MZ_PLAN), DATE=YYYY-MM-DD"
	@echo "             (default the plan's second reporting date), INBOX=dir (default inbox), OUTBOX=dir"
	@echo "             (default outbox; outbox-<plan name> with PLAN=)"
	@echo "  check:     FILE=\"inbox/Теректі 17.08.xlsx\" (one file, spaces allowed) or DIR=inbox (every file in it)"
	@echo "  mail:      fetch/remind/send write .eml drafts; SEND=1 sends them (mail.toml [smtp]), AGAIN=1 resends"
	@echo "  report/pdf/check/demo succeed when the report was written or the files checked, also when a district's"
	@echo "  file has errors (exit 1: see issues.csv); any other code stops make with it (README, Exit codes)."
	@echo "  Russian: MZ_LANG=ru. Scripts: .venv/bin/python -m pipeline (docs/command-line.md)."

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

env: $(VENV)/.installed ## build the virtualenv with pinned packages (done by every target that needs it)

# A plan fed by lower levels' reports (`sources`, e.g. the republic's): each source plan's own demo runs
# first, into its own build/demo-<plan>/, and its published reports are exported into this demo's inbox;
# the samples fill the other units. (Through DEMO_MAKE, not $(MAKE) itself: `make -n demo` must not run
# the demo.)
DEMO_MAKE := $(MAKE)
demo: $(VENV)/.installed ## sample submissions into build/demo/inbox, every date's report into build/demo/outbox
	@$(PLAN_DATE) dates="$$($(PY) -m pipeline plan dates)" || exit $$?; \
	srcs="$$($(PY) -m pipeline plan sources)" || exit $$?; \
	rm -rf "$(DEMO)"; skip=(); \
	while IFS=$$'\t' read -r src unit; do \
	  [ -n "$$src" ] || continue; \
	  $(DEMO_MAKE) --no-print-directory demo PLAN="$$src" DATE= || exit $$?; \
	  $(PY) -m pipeline --plan "$$src" export --to "$${MZ_PLAN}" --outbox "build/demo-$$(basename "$$src" .yaml)/outbox" \
	    --out "$(DEMO_INBOX)/export" || exit $$?; \
	  skip+=(--skip "$$unit"); \
	done <<< "$$srcs"; \
	$(PY) -m pipeline samples --out "$(DEMO_INBOX)" --seed $(DEMO_SEED) --messy "$$d" "$${skip[@]}" || exit $$?; \
	for x in $$dates; do \
	  $(PY) -m pipeline report --date $$x --inbox "$(DEMO_INBOX)" --outbox "$(DEMO_OUTBOX)" \
	    || { rc=$$?; [ $$rc -eq 1 ] || exit $$rc; }; \
	done; \
	echo "Демо: $(DEMO_OUTBOX)/$$d/ (кіріс қалтасы: $(DEMO_INBOX)/). Нағыз inbox/ пен outbox/ өзгерген жоқ."

plan-check: $(VENV)/.installed ## check the plan file (PLAN=…): each mistake named by its key, in Kazakh
	@$(PY) -m pipeline plan check

# The CLI's 1 means "written, but some file has errors (see issues.csv)": for a person running make that is
# success, and make would turn it into «Error 1» (exit 2); every other code is a real failure and make stops
# with it («Error 3», «Error 7», …). Variables given on make's command line reach the recipe's environment,
# so "$${X}" keeps spaces in names intact: every path below is quoted that way.
report: $(VENV)/.installed ## the report for DATE from INBOX into OUTBOX/DATE/ (add FORCE=1 for --force)
	@$(PLAN_DATE) $(PY) -m pipeline report --date "$$d" --inbox "$${INBOX:-$(INBOX)}" --outbox "$${OUTBOX:-$(OUTBOX)}" $(if $(FORCE),--force) || { rc=$$?; [ $$rc -eq 1 ] || exit $$rc; }

pdf: $(VENV)/.installed ## the report for DATE, plus PDF copies of both languages (needs LibreOffice)
	@$(PLAN_DATE) $(PY) -m pipeline report --date "$$d" --inbox "$${INBOX:-$(INBOX)}" --outbox "$${OUTBOX:-$(OUTBOX)}" --pdf $(if $(FORCE),--force) || { rc=$$?; [ $$rc -eq 1 ] || exit $$rc; }

history: $(VENV)/.installed ## the kept versions of the report for DATE
	@$(PLAN_DATE) $(PY) -m pipeline history --date "$$d" --outbox "$${OUTBOX:-$(OUTBOX)}"

restore: $(VENV)/.installed ## make version V of the report for DATE current again (V=3)
	@$(PLAN_DATE) $(PY) -m pipeline restore --date "$$d" --version "$(V)" --outbox "$${OUTBOX:-$(OUTBOX)}"

status: $(VENV)/.installed ## where each unit stands at DATE: what came, on time or late, what to fix, which feedback
	@$(PLAN_DATE) $(PY) -m pipeline status --date "$$d" --inbox "$${INBOX:-$(INBOX)}" --outbox "$${OUTBOX:-$(OUTBOX)}"

links: $(VENV)/.installed ## new secret portal links (BASE_URL=http://10.0.0.5:8017; ROTATE=unit: only that one)
	@$(PY) -m pipeline links --outbox "$${OUTBOX:-$(OUTBOX)}" --base-url "$${BASE_URL:-http://127.0.0.1:8017}" $(if $(ROTATE),--rotate "$${ROTATE}")

export: $(VENV)/.installed ## this oblast's published report of DATE as its region's form of the plan TO=… (no DATE: every date it serves)
	@[ -n "$(TO)" ] || { echo 'Қате [usage-arguments]: make export TO=<the higher plan file> [DATE=YYYY-MM-DD]' >&2; exit 2; }; \
	$(PY) -m pipeline export --to "$${TO}" $(if $(DATE),--date "$${DATE}") --outbox "$${OUTBOX:-$(OUTBOX)}"

forms: $(VENV)/.installed ## blank district forms into OUTBOX/forms/
	@$(PY) -m pipeline forms --out "$${OUTBOX:-$(OUTBOX)}/forms"

check: $(VENV)/.installed ## validate FILE="inbox/Теректі 17.08.xlsx" or DIR=inbox without writing a report
	@if [ -n "$${FILE}" ]; then set -- "$${FILE}"; elif [ -n "$${DIR}" ]; then set -- "$${DIR}"; \
	else set -- $(FILES); fi; \
	if [ $$# -eq 0 ]; then echo 'Қате [usage-arguments]: make check FILE="inbox/Теректі 17.08.xlsx"  |  make check DIR=inbox' >&2; exit 2; fi; \
	$(PY) -m pipeline check "$$@" || { rc=$$?; [ $$rc -eq 1 ] || exit $$rc; }

test: $(VENV)/.installed ## run the test suite
	$(PY) -m pytest -q

codes: $(VENV)/.installed ## regenerate docs/problem-codes.md from the catalogue
	$(PY) -m pipeline codes --out docs/problem-codes.md

bench: $(VENV)/.installed ## benchmark: 13, 1,000 and 10,000 submissions; the portal under 100 clients; 500 e-mails
	$(PY) -m pipeline bench --files 13 --files 1000 --files 10000 --portal-clients 100 --portal-files 200 --mail-messages 500

BASE ?= main
bench-compare: $(VENV)/.installed ## this code against BASE (a git revision, default main), measured alternately: each figure side by side with its ratio
	$(PY) -m pipeline bench --compare $(BASE) --files 13 --files 1000 --files 10000

serve: $(VENV)/.installed ## the district portal on 127.0.0.1:8017 (HOST=…, PORT=…); links first: make links
	$(PY) -m pipeline serve --host "$(SERVE_HOST)" --port "$(SERVE_PORT)" --inbox "$${INBOX:-$(INBOX)}" --outbox "$${OUTBOX:-$(OUTBOX)}"

# Mail (README «Mail»): drafts under OUTBOX/DATE/mail/ unless SEND=1 (and [smtp] in mail.toml); the CLI's 1
# ("done, but some file or message has errors") is success for make, as for report.
MAIL_FLAGS = $(if $(SEND),--send) $(if $(AGAIN),--again) $(if $(MAIL),--mail-settings "$(MAIL)")

fetch: $(VENV)/.installed ## fetch the mailbox: forms into INBOX/mail/, each sender answered (SEND=1 to send)
	@$(PY) -m pipeline mail fetch --reply $(MAIL_FLAGS) --inbox "$${INBOX:-$(INBOX)}" --outbox "$${OUTBOX:-$(OUTBOX)}" || { rc=$$?; [ $$rc -eq 1 ] || exit $$rc; }

remind: $(VENV)/.installed ## reminders (before the deadline) or lateness notices (after it) for DATE (SEND=1, TODAY=…)
	@$(PLAN_DATE) $(PY) -m pipeline remind --date "$$d" $(if $(TODAY),--today "$(TODAY)") $(MAIL_FLAGS) --inbox "$${INBOX:-$(INBOX)}" --outbox "$${OUTBOX:-$(OUTBOX)}" || { rc=$$?; [ $$rc -eq 1 ] || exit $$rc; }

send: $(VENV)/.installed ## the report of DATE to leadership, feedback to the districts (SEND=1 to send, AGAIN=1)
	@$(PLAN_DATE) $(PY) -m pipeline mail send --date "$$d" $(MAIL_FLAGS) --inbox "$${INBOX:-$(INBOX)}" --outbox "$${OUTBOX:-$(OUTBOX)}" || { rc=$$?; [ $$rc -eq 1 ] || exit $$rc; }

clean: ## remove the virtualenv, build/ (the demo) and the reports of outbox/ and outbox-<plan>/, versions and caches
	rm -rf $(VENV) build
	@for o in outbox outbox-*; do [ -d "$$o" ] || continue; \
	  rm -rf "$$o"/.runs "$$o"/.history "$$o"/.cache "$$o"/.lock "$$o"/.logs "$$o"/.campaign.json "$$o"/20* "$$o"/forms; \
	  rmdir "$$o" 2>/dev/null || true; \
	done
	@echo "Kept: inbox/ (the districts' files, never touched), outbox/.portal/ (the portal's link keys and"
	@echo "its audit log: remove it by hand to invalidate every link and drop the upload history) and"
	@echo "outbox/.mail/ (what was fetched and sent: without it a re-run could send a letter twice)."
