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
