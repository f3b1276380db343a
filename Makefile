# Front Door - run `make help` for the list of commands.
SHELL := /bin/bash
.DEFAULT_GOAL := help

APP_PY   := .venv-app/bin/python
RASA     := .venv-rasa/bin/rasa
DESK     ?= 12345
export RASA_TELEMETRY_ENABLED := false
export PYTHONPATH := $(CURDIR)
export TMPDIR := $(CURDIR)/var/tmp
RASA_INPUTS := config.yml domain.yml $(shell find nlu_data -name '*.yml' 2>/dev/null)
RASA_MODEL  := models/frontdoor.tar.gz

.PHONY: help install model train run chat admin test lint types unit rasa-validate rasa-test triage import-history history eval bench conversations fresh-round clean key masking purge export erase bench-purge wechat-try cluster soak

help: ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

var/tmp:
	@mkdir -p var/tmp

install: var/tmp ## create both environments (idempotent; quick when nothing changed)
	@bash scripts/install.sh

model: install ## build the offline embedding model once (cached outside git)
	@$(APP_PY) -m tools.embedding_model

$(RASA_MODEL): $(RASA_INPUTS) | install
	@echo "[train] nlu_data/, config.yml or domain.yml changed: training Rasa" >&2
	@$(RASA) train --data nlu_data --config config.yml --domain domain.yml --out models --fixed-model-name frontdoor >var/train.log 2>&1 \
	  || { tail -n 40 var/train.log >&2; echo "[train] failed: full log in var/train.log" >&2; exit 1; }
	@echo "[train] done (log: var/train.log)" >&2

train: install $(RASA_MODEL) ## train Rasa only if its inputs changed

run: install model train ## start the whole front door on 127.0.0.1 (Ctrl-C stops it)
	@$(APP_PY) -m bot.launcher

cluster: install model train ## a local cluster on loopback: PostgreSQL, Redis, HAProxy, APPS app instances, RASA replicas (default 2, 2; Ctrl-C stops all)
	@$(APP_PY) -m bot.cluster.launcher $(if $(APPS),--apps $(APPS)) $(if $(RASA),--rasa $(RASA))

wechat-try: install model train ## try a desk on WeChat without an account: fake WeChat + the front door + a simulator (DESK=12345 [KF=1] for 微信客服)
	@$(APP_PY) -m tools.wechat_try --desk $(DESK) $(if $(KF),--kf)

chat: ## chat in the terminal with the running front door (DESK=12345|12355)
	@$(APP_PY) -m bot.channels.terminal --desk $(DESK)

admin: install ## create a console admin (ADMIN=name DESKS="12345 12355"; password from FRONTDOOR_ADMIN_PASSWORD or a prompt)
	@test -n "$(ADMIN)" || { echo "usage: make admin ADMIN=<username> [DESKS=\"12345 12355\"]" >&2; exit 2; }
	@$(APP_PY) -m bot.tickets migrate
	@$(APP_PY) -m bot.console create-admin --username $(ADMIN) $(foreach d,$(or $(DESKS),12345 12355),--desk $(d))

key: install ## create an integration API key, printed once (NAME=crm [DESKS="12345 12355"]; list/revoke: python -m bot.channels.keys)
	@test -n "$(NAME)" || { echo 'usage: make key NAME=<integration> [DESKS="12345 12355"]' >&2; exit 2; }
	@$(APP_PY) -m bot.channels.keys create --name $(NAME) $(foreach d,$(DESKS),--desk $(d))

lint: install ## ruff: lint rules and formatting (`ruff format bot actions tools tests benchmarks scripts` fixes the latter)
	@.venv-app/bin/ruff check bot actions tools tests benchmarks scripts
	@.venv-app/bin/ruff format --check bot actions tools tests benchmarks scripts

types: install ## mypy on bot/, actions/ and tools/
	@.venv-app/bin/mypy bot actions tools

unit: install model train ## pytest (unit and integration, incl. a real conversation through Rasa)
	@$(APP_PY) -m pytest -q
	@.venv-rasa/bin/python -m pytest -q tests/rasa_components

rasa-validate: install ## rasa data validate
	@$(RASA) data validate --data nlu_data --domain domain.yml --config config.yml >var/validate.log 2>&1 \
	  && echo "[validate] rasa data validate passed" >&2 || { grep -E "ERROR|WARNING|UserWarning" var/validate.log >&2; exit 1; }

rasa-test: install train ## rasa test stories with the action server running
	@bash scripts/rasa_test.sh

test: lint types rasa-validate unit rasa-test ## everything CI runs

triage: install model ## classify JSONL from stdin (make -s triage DESK=12345 < in.jsonl > out.jsonl)
	@$(APP_PY) -m bot.triage.cli --desk $(DESK)

import-history: install model ## add a hotline's past tickets as catalogue examples (DESK=12345 FILE=history.csv [DRY=1] [STRICT=1])
	@test -n "$(FILE)" || { echo "usage: make import-history DESK=12345 FILE=history.csv [DRY=1] [STRICT=1]" >&2; exit 2; }
	@$(APP_PY) -m bot.triage.history import --desk $(DESK) --file $(FILE) $(if $(DRY),--dry-run) $(if $(STRICT),--strict)

history: install ## list a desk's imported history batches (DESK=12345; remove one: python -m bot.triage.history remove --desk 12345 --batch <id>)
	@$(APP_PY) -m bot.triage.history list --desk $(DESK)

eval: install model ## print every figure of the triage spec's "What is measured" table
	@FRONTDOOR_EMBEDDING_DISK_CACHE=all $(APP_PY) -m benchmarks.eval

bench: install model train ## performance figures (install, train, start-up, memory, latency) and the cluster soak
	@$(APP_PY) -m benchmarks.bench
	@$(APP_PY) -m benchmarks.soak_bench $(if $(MINUTES),--minutes $(MINUTES))

soak: install model train ## only the cluster soak benchmark (MINUTES=5: load through HAProxy, kill -9 an app and a Rasa, restart Redis)
	@$(APP_PY) -m benchmarks.soak_bench $(if $(MINUTES),--minutes $(MINUTES))

masking: install ## what personal data still shows after masking in the 4,326 unlabeled gov messages, and mask() speed
	@$(APP_PY) -m benchmarks.masking_report

conversations: install model train ## play fresh conversation rounds through a real stack and score them (ROUNDS="a.yml b.yml" [RECORD=1] [JSON=out.json])
	@test -n "$(ROUNDS)" || { echo 'usage: make conversations ROUNDS="benchmarks/conversations/round-1.yml ..." [RECORD=1] [JSON=out.json]' >&2; exit 2; }
	@$(APP_PY) -m benchmarks.conversations $(ROUNDS) $(if $(RECORD),--record) $(if $(JSON),--json $(JSON))

fresh-round: install model ## score a fresh writer's round of single messages once (ROUND=benchmarks/fresh_rounds/round-N.jsonl [RECORD=1] [RERUN=1])
	@test -n "$(ROUND)" || { echo 'usage: make fresh-round ROUND=benchmarks/fresh_rounds/round-N.jsonl [RECORD=1] [RERUN=1]' >&2; exit 2; }
	@$(APP_PY) -m benchmarks.fresh_rounds $(ROUND) $(if $(RECORD),--record) $(if $(RERUN),--rerun)

purge: ## apply the retention policy now (DRY_RUN=1: only print what would be removed)
	@$(APP_PY) -m bot.retention purge $(if $(DRY_RUN),--dry-run)

export: ## write everything held about one person to a JSON file (TICKET=<number> or CONVERSATION=<id>)
	@test -n "$(TICKET)$(CONVERSATION)" || { echo "usage: make export TICKET=<number> | CONVERSATION=<desk:channel:user>" >&2; exit 2; }
	@$(APP_PY) -m bot.retention export $(if $(TICKET),--ticket "$(TICKET)",--conversation "$(CONVERSATION)")

erase: ## erase one person's data everywhere (TICKET=<number> or CONVERSATION=<id>; YES=1 to really do it)
	@test -n "$(TICKET)$(CONVERSATION)" || { echo "usage: make erase TICKET=<number> | CONVERSATION=<desk:channel:user> [YES=1]" >&2; exit 2; }
	@$(APP_PY) -m bot.retention erase $(if $(TICKET),--ticket "$(TICKET)",--conversation "$(CONVERSATION)") $(if $(YES),--yes)

bench-purge: ## purge benchmark: seed 10,000 conversations of mixed ages, purge, report rows per table
	@$(APP_PY) -m benchmarks.purge_bench

clean: ## remove trained models, local data and caches, embedding vector caches included (keeps the environments)
	-@test -x $(APP_PY) && $(APP_PY) -m bot.retention clean-caches
	rm -rf models var .pytest_cache .mypy_cache .ruff_cache
