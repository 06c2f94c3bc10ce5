{
  description = "Plinth: a TypeScript backend on Effect (PostgreSQL, Redis, RabbitMQ, S3) with an HTTP API and a typed RPC server";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
    flake-utils.url = "github:numtide/flake-utils";
  };

  outputs = { self, nixpkgs, flake-utils }:
    flake-utils.lib.eachDefaultSystem (system:
      let
        pkgs = import nixpkgs { inherit system; };

        # The backing services that nix/dev-services.sh starts; the same set is on the dev shell's PATH.
        serviceTools = [
          pkgs.postgresql_16
          pkgs.redis
          pkgs.rabbitmq-server
          pkgs.minio
          pkgs.minio-client
        ];

        devServices = pkgs.writeShellApplication {
          name = "plinth-dev-services";
          runtimeInputs = serviceTools ++ [ pkgs.coreutils pkgs.curl ];
          text = builtins.readFile ./nix/dev-services.sh;
        };
      in
      {
        packages = {
          default = import ./nix/package.nix { inherit pkgs; };
          dev-services = devServices;
        };

        apps = {
          default = flake-utils.lib.mkApp { drv = self.packages.${system}.default; };
          dev-services = {
            type = "app";
            program = "${devServices}/bin/plinth-dev-services";
          };
        };

        devShells.default = pkgs.mkShell {
          packages = serviceTools ++ [
            pkgs.nodejs_22
            pkgs.nodePackages.typescript-language-server
            pkgs.jq
            pkgs.openssl
            pkgs.curl
            devServices
          ];

          shellHook = ''
            echo "plinth: node $(node --version). Run 'npm ci' once, then 'npm start' (embedded backends, nothing else needed)."
            echo "plinth: 'plinth-dev-services' starts PostgreSQL, Redis, RabbitMQ and MinIO under ./.dev and prints the variables to export."
          '';
        };

        formatter = pkgs.nixpkgs-fmt;
      });
}
