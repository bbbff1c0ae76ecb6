# Thin aliases for the npm scripts; `npm run <target>` does the same.
.PHONY: install start dev test lint format typecheck migrate

install:
	npm install

start:
	npm start

dev:
	npm run dev

test:
	npm test

lint:
	npm run lint

format:
	npm run format

typecheck:
	npm run typecheck

migrate:
	npm run migrate

# Runs k6/$(SCENARIO).js with k6 if installed; says how to get k6 otherwise.
SCENARIO ?= smoke
.PHONY: load-test
load-test:
	bash k6/run.sh $(SCENARIO)
