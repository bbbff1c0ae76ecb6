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

IMAGE ?= order-service:local
.PHONY: docker-build docker-run deploy

docker-build:
	docker build -t $(IMAGE) .

# DATABASE_URL is passed through when set; without it the container uses its embedded database.
docker-run:
	docker run --rm -p 3000:3000 $(if $(DATABASE_URL),-e DATABASE_URL) $(IMAGE)

# make deploy RG=rg-orders-prod ARGS='--what-if --set dockerImage=ghcr.io/acme/order-service:sha-3f2c1ab --set-from-env postgresAdminPassword=POSTGRES_ADMIN_PASSWORD --set-from-env metricsToken=METRICS_TOKEN'
deploy:
	@test -n "$(RG)" || { echo 'make deploy needs RG, the resource group: make deploy RG=rg-orders-prod ARGS=...' >&2; exit 2; }
	npm run deploy -- --resource-group $(RG) --parameters arm/azuredeploy.parameters.json $(ARGS)
