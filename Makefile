# Entry points; the work is done by the scripts under scripts/.
.PHONY: test services services-down services-status demo bench

# Everything CI checks: prerequisites, services, fmt, clippy, tests; services stopped after.
test:
	scripts/test

# Start Kafka, MariaDB and seekdb on loopback (endpoints in .obsync-dev/services.env).
services:
	scripts/services up

# Stop them and remove their data (scripts/services down --keep keeps it).
services-down:
	scripts/services down

services-status:
	scripts/services status

# A sample shop schema in MariaDB replicated to Kafka by a release build of obsync.
demo:
	scripts/demo

# Benchmarks (scripts/bench), once they exist.
bench:
	@if [ -x scripts/bench ]; then scripts/bench; \
	else echo "make bench: scripts/bench does not exist yet" >&2; exit 2; fi
