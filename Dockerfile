FROM python:3.13-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY smarketing smarketing
COPY personas personas
COPY leads leads
COPY sla sla
COPY goals goals
RUN pip install --no-cache-dir .
COPY . .
RUN DEBUG=1 python manage.py collectstatic --noinput
RUN useradd --system --home /app smarketing && chown -R smarketing /app
USER smarketing
EXPOSE 8000
CMD ["gunicorn", "smarketing.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2"]
