# One image for the simulator and for Locust masters and workers (see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY simulator ./simulator
COPY loadtests ./loadtests
COPY scenarios ./scenarios
# Editable, so bundled scenarios (./scenarios) and /app/loadtests/locustfile.py are the installed code.
RUN pip install --no-cache-dir -e ".[load]"
# 2775 SMPP, 8025 control API, 8089 Locust web UI, 5557 Locust master <- workers
EXPOSE 2775 8025 8089 5557
CMD ["carrier-sim", "serve", "--host", "0.0.0.0"]
