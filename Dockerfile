# commentary-bot: one image for every role (see compose.yaml). Build: docker build -t commentary-bot .
FROM python:3.11-slim

# psycopg[binary] and lxml ship wheels: nothing to compile, no build tools in the image.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip install --no-cache-dir . \
    && useradd --system --create-home --home-dir /home/bot bot
USER bot
ENTRYPOINT ["commentary-bot"]
CMD ["run"]
