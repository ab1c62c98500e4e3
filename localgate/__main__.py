from localgate.cli import main

main(prog_name="localgate")
