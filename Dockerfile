# The Switchboard image: one image for every role (serve, api, executor, recon, and the
# management commands), the published app on the ASP.NET Core runtime, run as a non-root user.
#   docker build -t switchboard .
#   docker run --rm -p 8080:8080 -v sbdata:/data switchboard          # serve on SQLite in /data
#   docker run --rm switchboard executor --config /etc/switchboard/switchboard.yaml
# The base images are build arguments: the official .NET images by default; any image with the
# .NET 10 SDK (build) and ASP.NET Core runtime (final) at the same names works, e.g. ones made
# offline (scripts/containers.sh). docs/operations.md, "Running it in containers".
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0

FROM ${SDK_IMAGE} AS build
# NuGet's certificate revocation check needs the internet; a build behind a mirror passes
# --build-arg NUGET_CERT_REVOCATION_MODE=offline (an ARG is in the RUN steps' environment).
ARG NUGET_CERT_REVOCATION_MODE=online
WORKDIR /src
# Restore from the project and props files alone, so the restored packages stay a cached layer
# until a package reference changes rather than at every source change.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Switchboard/Switchboard.csproj src/Switchboard/
COPY src/Switchboard.Handlers.Abstractions/Switchboard.Handlers.Abstractions.csproj src/Switchboard.Handlers.Abstractions/
RUN dotnet restore src/Switchboard/Switchboard.csproj
COPY src/ src/
RUN dotnet publish src/Switchboard/Switchboard.csproj -c Release --no-restore -o /app /p:UseAppHost=false

FROM ${RUNTIME_IMAGE}
# A fixed uid and gid (no passwd entry needed), so volume ownership and runAsNonRoot policies
# can name them; /data, the embedded store's folder and the working directory, belongs to it.
RUN mkdir -p /data && chown 10001:10001 /data && chmod 700 /data
COPY --from=build /app /app
# In a container the HTTP roles listen on every interface (the app's own default is
# 127.0.0.1:8080); --urls still wins. HOME: .NET and the app may write small files there.
ENV ASPNETCORE_URLS=http://+:8080 \
    HOME=/data \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
WORKDIR /data
USER 10001:10001
EXPOSE 8080
# No HEALTHCHECK: the runtime image has no HTTP client; orchestrators probe /healthz and
# /readyz themselves (compose: see deploy/compose.yaml).
ENTRYPOINT ["dotnet", "/app/switchboard.dll"]
CMD ["serve", "--data", "/data"]
