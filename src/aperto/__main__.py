from aperto.cli.main import main

main()
