# One image for the simulator and for Locust masters and workers (see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY simulator ./simulator
COPY loadtests ./loadtests
COPY scenarios ./scenarios
# Editable, so bundled scenarios (./scenarios) and /app/loadtests/locustfile.py are the installed code.
# The compiler builds the compiled twins of the hot path (simulator/*/_speedups.c), then leaves the image.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install --no-cache-dir -e ".[load]" \
    && python -c "import simulator.smpp._speedups, simulator.core._speedups" \
    && apt-get purge -y gcc libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
# 2775 SMPP, 8025 control API, 8089 Locust web UI, 5557 Locust master <- workers
EXPOSE 2775 8025 8089 5557
CMD ["carrier-sim", "serve", "--host", "0.0.0.0"]
