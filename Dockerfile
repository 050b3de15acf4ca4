# One image for the simulator and for Locust masters and workers.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY simulator ./simulator
COPY loadtests ./loadtests
COPY scenarios ./scenarios
RUN pip install --no-cache-dir ".[load]"
EXPOSE 2775 8025 8089 5557
CMD ["carrier-sim", "serve", "--host", "0.0.0.0"]
